import { z } from 'zod';
import { EXECUTION_STATUSES, type ExecutionView } from '../../shared/contract/execution.js';
import { TEST_CASE_STATUSES } from '../../shared/contract/testCases.js';
import { PROBLEM_TYPES } from '../../shared/problems/problemCatalogue.js';

/**
 * What the API answers, as zod schemas for the OpenAPI document. The types
 * the code uses are interfaces in src/shared/contract; the checks at the end
 * make the compiler refuse a schema that drifts from them.
 */
const isoTime = z.string().meta({ format: 'date-time' });

const artifactSchema = z.object({
  path: z.string(),
  size: z.number().int(),
  encoding: z.literal('base64'),
  content: z.string(),
});

const resourceUse = {
  cpuTimeMs: z.number().nullable().describe("CPU time of all the step's processes (the job's cgroup); null where the sandbox cannot tell."),
  memoryPeakBytes: z.number().nullable().describe("The step's peak memory, files in /work and /tmp included (the job's cgroup); null where the sandbox cannot tell."),
};

const streamEncoding = z
  .enum(['utf8', 'utf8-replaced', 'base64'])
  .describe('utf8: the bytes as text; utf8-replaced: text in which bytes that were not UTF-8 became U+FFFD; base64: the exact bytes (outputEncoding "base64").');
const streamEncodings = { stdoutEncoding: streamEncoding, stderrEncoding: streamEncoding };

/** What every program run reports (ProgramRun): a compile, the run, a test case. */
const programRun = {
  exitCode: z.number().int().nullable().describe('128 + the signal number when the program died of a signal; null when sandq stopped it.'),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  ...streamEncodings,
  durationMs: z.number(),
  ...resourceUse,
};

const runLimit = z.enum(['timeoutMs', 'cpuTimeMs', 'memoryMb', 'maxOutputBytes', 'maxFileBytes']);

/** A run of the program itself (ProgramRunResult): the execution's, or a test case's. */
const programRunResult = {
  ...programRun,
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  limit: runLimit
    .nullable()
    .describe('The limit that stopped the program, if one did: timed_out (timeoutMs or cpuTimeMs), memory_exceeded, output_exceeded, or SIGXFSZ (maxFileBytes).'),
};

const compileSchema = z
  .object({
    ...programRun,
    limit: z.enum(['compileTimeoutMs', 'compileMemoryMb', 'maxOutputBytes', 'maxFileBytes']).nullable().describe('The compile limit that stopped the compiler, if one did.'),
  })
  .describe("A compiled language's compile step; the program runs only when it exits 0.");

const testCaseResultSchema = z.object({
  name: z.string().nullable(),
  status: z.enum(TEST_CASE_STATUSES).describe('passed, wrong_answer (exited 0, other output), failed (non-zero exit or a signal), a limit, cancelled, or not_run (the execution was cancelled first).'),
  ...programRunResult,
  firstDifference: z
    .object({ line: z.number().int(), expected: z.string().nullable(), actual: z.string().nullable() })
    .nullable()
    .describe('wrong_answer only: the first line (1-based) where the output differs; null for a missing line.'),
});

const resultSchema = z.object({
  compile: compileSchema.nullable().describe('null for languages without a compile step.'),
  ...programRunResult,
  tests: z.array(testCaseResultSchema).nullable().describe('A row per test case, in request order; null without `tests`.'),
  summary: z.object({ passed: z.number().int(), total: z.number().int() }).nullable(),
  queuedMs: z.number(),
  artifacts: z.array(artifactSchema),
  skippedArtifacts: z.array(z.object({ path: z.string(), reason: z.string() })),
});

const webhookDeliverySchema = z.object({
  url: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
});

export const executionSchema = z
  .object({
    id: z.string().regex(/^ex_[0-9a-f]{32}$/),
    status: z.enum(EXECUTION_STATUSES),
    language: z.string().describe('The canonical name of the language (an alias in the request is resolved).'),
    provider: z.string(),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    attempts: z.number().int(),
    metadata: z.record(z.string(), z.string()),
    result: resultSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable().describe('Why the service (not the program) failed; status "error".'),
    webhook: webhookDeliverySchema.nullable().describe('null without a webhook in the request.'),
  });

export const problemSchema = z
  .object({
    type: z.enum(PROBLEM_TYPES as [string, ...string[]]).describe('Which problem it is; a client branches on this, not on the status or title.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('RFC 9457 problem details');

export const executionPageSchema = z.object({
  items: z.array(executionSchema),
  nextCursor: z.string().nullable(),
});

export const batchResultSchema = z.object({
  items: z.array(z.union([executionSchema, z.object({ error: problemSchema })])).describe('One per submitted item, in request order.'),
});

export const languagesSchema = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      displayName: z.string(),
      aliases: z.array(z.string()).describe('Other names a request may use for it.'),
      extensions: z.array(z.string()).describe('File name extensions that mean this language.'),
      compiled: z.boolean().describe('Whether it has a compile step (result.compile, status compile_failed).'),
      versions: z.array(z.string()).describe("The toolchain's version on the live workers (for TypeScript: the transpiler's)."),
      providers: z.array(z.string()),
    }),
  ),
  workers: z.number().int(),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const readySchema = z.object({
  status: z.literal('ready'),
  redis: z.literal('ok'),
  workers: z.number().int(),
  warningCount: z.number().int().describe("Conditions that weaken the live workers' isolation or what they offer."),
  warnings: z.array(z.string()).describe('Those conditions, for the admin credentials only (they name hosts, paths and worker ids); empty for anyone else.'),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const executionMatches: Same<z.infer<typeof executionSchema>, ExecutionView> = true;
void executionMatches;
