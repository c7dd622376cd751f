import { z } from 'zod';
import type { LanguageRegistry } from '../languages/LanguageRegistry.js';
import { OUTPUT_ENCODINGS } from './execution.js';
import { RESERVED_DIR } from './languages.js';
import { type LimitsPolicy, resolveLimits } from './limits.js';
import { comparisonSchema, testCaseSchema } from './testCases.js';
import { PROVIDER_NAMES } from './providers.js';
import { WEBHOOKS_DISABLED, type WebhookPolicy, webhookSchema } from './webhook.js';

const noNul = (s: string) => !s.includes('\0');
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** NAME_MAX: the longest name one path segment may have on Linux filesystems, in bytes. */
const MAX_SEGMENT_BYTES = 255;
/** PATH_MAX (4096, with its NUL) less the sandbox's "/work/" prefix: the longest path the program can open. */
const MAX_PATH_BYTES = 4096 - 1 - '/work/'.length;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A relative path inside the work dir: no absolute paths, no `..`, no empty or `.` segments. */
const relativePath = z
  .string()
  .min(1)
  .max(MAX_PATH_BYTES)
  .refine((p) => utf8Bytes(p) <= MAX_PATH_BYTES, `must be at most ${MAX_PATH_BYTES} bytes long (UTF-8)`)
  .refine((p) => p.split('/').every((s) => utf8Bytes(s) <= MAX_SEGMENT_BYTES), `each name between slashes must be at most ${MAX_SEGMENT_BYTES} bytes long (UTF-8)`)
  .refine(noNul, 'must not contain NUL bytes')
  .refine((p) => !p.startsWith('/'), 'must be relative to the work dir, not absolute')
  .refine((p) => !p.includes('\\'), 'use / as the separator')
  .refine((p) => p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'must not contain empty, "." or ".." segments');

// A glob over work-dir relative paths, such as out/*.png or **/*.csv.
const artifactPattern = z
  .string()
  .min(1)
  .max(255)
  .refine(noNul, 'must not contain NUL bytes')
  .refine((p) => !p.startsWith('/'), 'must be relative to the work dir, not absolute')
  .refine((p) => p.split('/').every((s) => s !== '..'), 'must not contain ".." segments');

const executionFileSchema = z
  .object({
    path: relativePath,
    content: z.string(),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.encoding === 'base64' && !BASE64.test(f.content)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'is not valid base64' });
    }
  });

/**
 * Builds the request schema; limits are checked against the operator's
 * maximums, never clamped. A limit the request leaves out takes the
 * language's own default (a JVM needs more processes) or else the operator's.
 */
export function executionRequestSchema(policy: LimitsPolicy, languages: LanguageRegistry, webhooks: WebhookPolicy = WEBHOOKS_DISABLED) {
  const { max } = policy;
  const enabled = policy.providers ?? ['local'];
  const limitsSchema = z
    .object({
      timeoutMs: z.number().int().min(1).max(max.timeoutMs).optional(),
      memoryMb: z.number().int().min(16).max(max.memoryMb).optional(),
      maxProcesses: z.number().int().min(1).max(max.maxProcesses).optional(),
      maxOutputBytes: z.number().int().min(1).max(max.maxOutputBytes).optional(),
      cpuTimeMs: z.number().int().min(1).max(max.cpuTimeMs).optional(),
      // Below 16 the launcher itself cannot start (its interpreter opens libraries and its spec).
      maxOpenFiles: z.number().int().min(16).max(max.maxOpenFiles).optional(),
      maxFileBytes: z.number().int().min(1).max(max.maxFileBytes).optional(),
      compileTimeoutMs: z.number().int().min(1).max(max.compileTimeoutMs).optional(),
      compileMemoryMb: z.number().int().min(16).max(max.compileMemoryMb).optional(),
      network: z
        .boolean()
        .optional()
        .refine((n) => !n, 'network access is not enabled on this deployment'),
    })
    .strict();

  return z
    .object({
      // An enum, so that the OpenAPI document lists every name and alias; the job carries the canonical name.
      language: z
        .enum(languages.keys, { error: () => `is not a language this deployment knows (known: ${languages.names.join(', ')})` })
        .transform((name) => languages.canonicalName(name)!),
      code: z.string().min(1).max(1024 * 1024),
      stdin: z.string().default(''),
      args: z.array(z.string().max(4096).refine(noNul, 'must not contain NUL bytes')).max(256).default([]),
      env: z
        .record(
          z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name').max(128),
          z.string().max(32 * 1024).refine(noNul, 'must not contain NUL bytes'),
        )
        .refine((e) => Object.keys(e).length <= 128, 'at most 128 variables')
        .default({}),
      files: z.array(executionFileSchema).max(1000).default([]),
      artifacts: z.array(artifactPattern).max(32).default([]),
      outputEncoding: z.enum(OUTPUT_ENCODINGS).default('utf8'),
      limits: limitsSchema.default({}),
      // Test cases: the program (compiled once) runs once per case, each in a fresh sandbox state.
      tests: z.array(testCaseSchema(max.timeoutMs)).min(1).max(policy.maxTestCases).optional(),
      comparison: comparisonSchema.optional(),
      provider: z
        .enum(PROVIDER_NAMES)
        .refine((p) => enabled.includes(p), `is not enabled on this deployment (enabled: ${enabled.join(', ')})`)
        .optional(),
      webhook: webhookSchema(webhooks).optional(),
      priority: z.number().int().min(1).max(10).default(5),
      metadata: z
        .record(z.string().max(64), z.string().max(1024))
        .refine((m) => Object.keys(m).length <= 32, 'at most 32 keys')
        .default({}),
    })
    .strict()
    .superRefine((req, ctx) => {
      if (req.comparison && !req.tests) ctx.addIssue({ code: 'custom', path: ['comparison'], message: 'compares the output of test cases: give `tests` too' });
      if (req.tests && (req.provider ?? policy.defaultProvider ?? 'local') !== 'local') {
        ctx.addIssue({ code: 'custom', path: ['tests'], message: 'test cases run on the local provider only, which gives each case a fresh sandbox state' });
      }
      const jobTimeoutMs = req.limits.timeoutMs ?? policy.defaults.timeoutMs;
      req.tests?.forEach((test, index) => {
        if (test.timeoutMs !== undefined && test.timeoutMs > jobTimeoutMs) {
          ctx.addIssue({ code: 'custom', path: ['tests', index, 'timeoutMs'], message: `may lower the job's limits.timeoutMs (${jobTimeoutMs}) for this case, never raise it` });
        }
      });
      const definition = languages.find(req.language);
      if (!definition) return;
      const taken = new Map<string, number>([definition.sourceFile, ...definition.builtFiles].map((name) => [name, -1]));
      req.files.forEach((file, index) => {
        const segments = file.path.split('/');
        if (segments[0] === RESERVED_DIR) {
          ctx.addIssue({ code: 'custom', path: ['files', index, 'path'], message: `"${RESERVED_DIR}" is reserved for the sandbox; choose another name` });
          return;
        }
        // A file collides with another file of the same path, or with a directory another path needs.
        for (let i = 1; i <= segments.length; i++) {
          const prefix = segments.slice(0, i).join('/');
          const other = taken.get(prefix);
          if (other === undefined) continue;
          ctx.addIssue({
            code: 'custom',
            path: ['files', index, 'path'],
            message:
              other === -1
                ? `"${prefix}" is where the program's code is written; choose another name`
                : `collides with files[${other}].path`,
          });
          return;
        }
        for (const key of taken.keys()) {
          if (key.startsWith(`${file.path}/`)) {
            ctx.addIssue({ code: 'custom', path: ['files', index, 'path'], message: `collides with files[${taken.get(key)}].path` });
            return;
          }
        }
        taken.set(file.path, index);
      });
    })
    .transform((req) => ({ ...req, limits: resolveLimits(req.limits, languages.find(req.language)!, policy) }));
}

export type ExecutionRequest = z.output<ReturnType<typeof executionRequestSchema>>;
