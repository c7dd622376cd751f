import os from 'node:os';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../contract/providers.js';
import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const jobSettings = settingGroup(
  'Queue and jobs',
  'How executions are queued, run and kept. The API sets job options when it enqueues: give API and workers the same values.',
  {
    SANDBOX_PROVIDER: setting(z.enum(PROVIDER_NAMES).default('local'), {
      description: 'The provider of requests without `provider`: `local` (bubblewrap on the worker) or `e2b` (needs `E2B_API_KEY`); see [E2B](e2b.md).',
    }),
    WORKER_CONCURRENCY: setting(positiveInt.max(256).default(Math.max(1, os.availableParallelism())), {
      shownDefault: 'number of CPUs',
      description: 'Executions one worker runs at once.',
    }),
    HAND_BACK_TIMEOUT_MS: setting(positiveInt.default(10 * 60 * 1000), {
      unit: 'ms',
      description: 'How long a job whose provider or language the workers that take it lack goes on being handed back, from its submission; then it ends `error`.',
    }),
    JOB_ATTEMPTS: setting(positiveInt.max(20).default(3), {
      description: 'Attempts for an execution whose run failed in the service (never for a failing program).',
    }),
    RESULT_TTL_MS: setting(z.coerce.number().int().min(1000).default(24 * 60 * 60 * 1000), {
      unit: 'ms',
      description: 'How long finished executions (and their idempotency keys) stay readable; kept to the second.',
    }),
    MAX_ARTIFACT_BYTES: setting(positiveInt.default(10 * 1024 * 1024), { unit: 'bytes', description: 'Artifacts returned per execution, in all.' }),
  },
);
