import { z } from 'zod';
import { commaList, positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const poolSettings = settingGroup('Warm pool', 'Sandboxes each worker starts ahead of the jobs ([Architecture](architecture.md#warm-pool)).', {
  POOL_SIZE: setting(z.coerce.number().int().min(0).max(64).default(2), { description: 'Warm sandboxes kept per runtime (`0`: every job starts its own).' }),
  POOL_RUNTIMES: setting(commaList('python,node,bash').pipe(z.array(z.enum(['python', 'node', 'bash']))), {
    description: 'Launchers kept warm: `python`; `node` (javascript, typescript); `bash` (bash, and every other language: a shell waits, then compiles and runs).',
  }),
  POOL_MAX_IDLE_MS: setting(positiveInt.default(300_000), { unit: 'ms', description: 'A warm sandbox older than this is replaced.' }),
  POOL_HEALTH_INTERVAL_MS: setting(positiveInt.default(5000), { unit: 'ms', description: 'How often idle sandboxes are checked (age, liveness) and the pool topped up.' }),
});
