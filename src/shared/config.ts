import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseApiKeys } from './apiKeys.js';
import { ConfigError } from './errors/ConfigError.js';
import { PROVIDER_NAMES } from './contract/providers.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

/** A host name or address as a Host header carries it, without the port; IPv6 in brackets. */
const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)$/;

/** `name:key,…`, parsed and hashed at once: the keys themselves are not kept in the config. */
const apiKeys = z.string().transform((value, ctx) => {
  try {
    return parseApiKeys(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/**
 * Every setting sandq reads from the environment, with its default.
 * The README's configuration table mirrors this schema.
 */
const configSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]+$/, 'use letters, digits, _, -, and {} for a Redis Cluster hash tag')
    .default('sandq'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),

  // Access: unset API_KEYS = an open API, allowed on loopback only and never in production.
  API_KEYS: apiKeys.optional(),
  ADMIN_USER: z.string().min(1).max(128).regex(/^[^:]+$/, 'must not contain ":"').optional(),
  ADMIN_PASSWORD: z.string().min(12, 'use at least 12 characters').max(1024).optional(),
  // Bull Board only shows the queues unless the operator lets it change them.
  ADMIN_BOARD_WRITES: z.stringbool().default(false),
  // Names an open API answers besides the loopback ones (its guard against DNS rebinding); unused with API_KEYS.
  ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(HOST_NAME, 'use host names or addresses without a port, IPv6 in brackets, separated by commas'))),
  // Backpressure: 0 turns any of these off.
  RATE_LIMIT_PER_MINUTE: nonNegativeInt.default(600),
  MAX_QUEUE_DEPTH: nonNegativeInt.default(10_000),
  // What one key may keep in Redis: requests and results for RESULT_TTL_SECONDS, and executions waiting for a worker.
  MAX_STORED_BYTES_PER_KEY: nonNegativeInt.default(1024 * 1024 * 1024),
  MAX_QUEUED_PER_KEY: nonNegativeInt.default(1000),
  // Shutdown and recovery of workers.
  SHUTDOWN_GRACE_MS: nonNegativeInt.default(60_000),
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  WORKER_METRICS_PORT: port.optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),

  WORKER_CONCURRENCY: positiveInt.max(256).default(Math.max(1, os.availableParallelism())),
  SANDBOX_PROVIDER: z.enum(PROVIDER_NAMES).default('local'),
  JOB_ATTEMPTS: positiveInt.max(20).default(3),
  RESULT_TTL_SECONDS: positiveInt.default(86_400),
  MAX_REQUEST_BYTES: positiveInt.default(5 * 1024 * 1024),

  // Webhooks: unset WEBHOOK_SECRET = requests with a webhook are refused.
  WEBHOOK_SECRET: z.string().min(16, 'use at least 16 characters').optional(),
  WEBHOOK_ALLOW_PRIVATE: z.stringbool().default(false),
  // 10 attempts, retried 7 s, 14 s, 28 s … apart: the last about an hour after the first.
  WEBHOOK_ATTEMPTS: positiveInt.max(50).default(10),
  WEBHOOK_BACKOFF_MS: positiveInt.default(7000),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  WEBHOOK_CONCURRENCY: positiveInt.max(1000).default(16),
  SSE_HEARTBEAT_MS: positiveInt.default(15_000),
  // Each open event stream holds a Redis connection while it waits.
  SSE_MAX_STREAMS: positiveInt.default(1000),
  SSE_MAX_STREAMS_PER_KEY: positiveInt.default(20),
  // Each open long-poll (?wait=) holds a socket and queue-event listeners for up to a minute.
  LONG_POLL_MAX: positiveInt.default(1000),
  LONG_POLL_MAX_PER_KEY: positiveInt.default(100),

  TIMEOUT_MS_DEFAULT: positiveInt.default(10_000),
  TIMEOUT_MS_MAX: positiveInt.default(60_000),
  MEMORY_MB_DEFAULT: positiveInt.default(256),
  MEMORY_MB_MAX: positiveInt.default(2048),
  MAX_PROCESSES_DEFAULT: positiveInt.default(64),
  MAX_PROCESSES_MAX: positiveInt.default(512),
  MAX_OUTPUT_BYTES_DEFAULT: positiveInt.default(1024 * 1024),
  MAX_OUTPUT_BYTES_MAX: positiveInt.default(16 * 1024 * 1024),
  MAX_ARTIFACT_BYTES: positiveInt.default(10 * 1024 * 1024),

  POOL_SIZE: z.coerce.number().int().min(0).max(64).default(2),
  POOL_RUNTIMES: z
    .string()
    .default('python,node,bash')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['python', 'node', 'bash']))),
  POOL_MAX_IDLE_SECONDS: positiveInt.default(300),
  POOL_HEALTH_INTERVAL_MS: positiveInt.default(5000),

  // E2B (provider `e2b`): enabled by E2B_API_KEY. The SDK's own variables keep their names and
  // meaning; they are read here only so that the configuration is one source, and passed through as is.
  E2B_API_KEY: z.string().min(1).optional(),
  E2B_DOMAIN: z.string().min(1).optional(),
  E2B_API_URL: z.url().optional(),
  E2B_SANDBOX_URL: z.url().optional(),
  E2B_TEMPLATE: z.string().min(1).default('base'),
  // Warm sandboxes bill while they wait: none unless asked for.
  E2B_POOL_SIZE: z.coerce.number().int().min(0).max(64).default(0),
  // The Hobby plan's limits (1 creation/s, 20 running sandboxes); Pro allows 5/s and 100.
  E2B_CREATE_RATE_PER_SECOND: z.coerce.number().positive().max(100).default(1),
  E2B_MAX_CONCURRENT_SANDBOXES: positiveInt.max(10_000).default(20),
  // How long E2B keeps a sandbox nobody renews: the bound on what a crashed worker leaves billing.
  E2B_SANDBOX_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(300_000),
  E2B_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  E2B_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  DEPLOYMENT_NAME: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1 to 64 letters, digits, _, . or -').default('sandq'),

  BWRAP_PATH: z.string().min(1).optional(),
  SANDBOX_UID_BASE: z.coerce.number().int().min(1000).max(4_000_000_000).default(2_000_000),
  SANDBOX_UID_COUNT: positiveInt.max(1_000_000).default(4096),
  SANDBOX_CPUS: z.coerce.number().positive().max(256).default(1),
  SANDBOX_CGROUP_ROOT: z.string().min(1).default('/sys/fs/cgroup'),
  SANDBOX_WORK_ROOT: z.string().min(1).default(path.join(os.tmpdir(), 'sandq')),
  REDIS_SERVER_PATH: z.string().min(1).optional(),
}).superRefine((c, ctx) => {
  const pairs = [
    ['TIMEOUT_MS_DEFAULT', 'TIMEOUT_MS_MAX'],
    ['MEMORY_MB_DEFAULT', 'MEMORY_MB_MAX'],
    ['MAX_PROCESSES_DEFAULT', 'MAX_PROCESSES_MAX'],
    ['MAX_OUTPUT_BYTES_DEFAULT', 'MAX_OUTPUT_BYTES_MAX'],
  ] as const;
  for (const [def, max] of pairs) {
    if (c[def] > c[max]) ctx.addIssue({ code: 'custom', path: [def], message: `must not exceed ${max} (${c[max]})` });
  }
  if (c.SANDBOX_PROVIDER === 'e2b' && !c.E2B_API_KEY) {
    ctx.addIssue({ code: 'custom', path: ['SANDBOX_PROVIDER'], message: 'e2b needs E2B_API_KEY' });
  }
  if ((c.ADMIN_USER === undefined) !== (c.ADMIN_PASSWORD === undefined)) {
    const missing = c.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'set ADMIN_USER and ADMIN_PASSWORD together' });
  }
});

export type Config = z.infer<typeof configSchema>;

const SECRET_VARIABLES = new Set(['WEBHOOK_SECRET', 'API_KEYS', 'ADMIN_PASSWORD', 'E2B_API_KEY']);

/** Reads the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = present[name];
      if (got === undefined) return `${name}: ${issue.message}`;
      // A secret's value never goes into messages or logs.
      return `${name}: ${issue.message} (got ${SECRET_VARIABLES.has(name) ? `${got.length} characters` : JSON.stringify(got)})`;
    }),
  );
}
