import { z } from 'zod';
import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

/**
 * The SDK's own variables keep their names and meaning; they are read here
 * only so that the configuration is one source, and passed through as is.
 */
export const e2bSettings = settingGroup('E2B', 'The `e2b` provider, enabled by `E2B_API_KEY` ([E2B](e2b.md)).', {
  E2B_API_KEY: setting(z.string().min(1).optional(), {
    description: 'Enables the `e2b` provider. The e2b SDK\'s own variable, handed to it unchanged, as are the three below when set.',
  }),
  E2B_DOMAIN: setting(z.string().min(1).optional(), { description: 'The SDK\'s E2B domain.' }),
  E2B_API_URL: setting(z.url().optional(), { description: 'The SDK\'s control-plane URL.' }),
  E2B_SANDBOX_URL: setting(z.url().optional(), { description: 'The SDK\'s sandbox (envd) URL.' }),
  E2B_TEMPLATE: setting(z.string().min(1).default('base'), { description: 'E2B template (name or id) of every sandbox; it must have `python3`, `node` and `bash`.' }),
  E2B_POOL_SIZE: setting(z.coerce.number().int().min(0).max(64).default(0), {
    description: 'Warm E2B sandboxes kept per runtime of `POOL_RUNTIMES`, per worker. They bill while they wait: none unless asked for.',
  }),
  E2B_CREATE_RATE_PER_SECOND: setting(z.coerce.number().positive().max(100).default(1), {
    unit: 'per second',
    description: 'Sandbox creations per second, per worker (E2B Hobby allows 1, Pro 5).',
  }),
  E2B_MAX_CONCURRENT_SANDBOXES: setting(positiveInt.max(10_000).default(20), {
    description: 'E2B sandboxes one worker holds at once, warm ones included (Hobby allows 20, Pro 100, for all workers together).',
  }),
  E2B_SANDBOX_TIMEOUT_MS: setting(z.coerce.number().int().min(1000).max(3_600_000).default(300_000), {
    unit: 'ms',
    description: 'E2B\'s timeout of a waiting sandbox, renewed while it is in the pool: the longest a crashed worker\'s sandbox can go on billing.',
  }),
  E2B_REQUEST_TIMEOUT_MS: setting(z.coerce.number().int().min(100).max(300_000).default(30_000), { unit: 'ms', description: 'Timeout of each call to E2B.' }),
  E2B_SWEEP_INTERVAL_MS: setting(z.coerce.number().int().min(100).default(60_000), {
    unit: 'ms',
    description: 'How often a worker looks for E2B sandboxes that no live worker holds.',
  }),
  DEPLOYMENT_NAME: setting(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1 to 64 letters, digits, _, . or -').default('sandq'), {
    description: 'The deployment\'s name in every E2B sandbox\'s metadata; deployments sharing an E2B team need different names.',
  }),
});
