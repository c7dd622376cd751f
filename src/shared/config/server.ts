import { z } from 'zod';
import { port } from './types.js';
import { setting, settingGroup } from './setting.js';

export const serverSettings = settingGroup('Server', 'Where the API listens, which Redis it uses, and how it logs.', {
  PORT: setting(port.default(3000), { unit: 'port', description: 'API port (`0`: any free port).' }),
  HOST: setting(z.string().min(1).default('127.0.0.1'), { description: 'API address; `0.0.0.0` to listen on all interfaces.' }),
  REDIS_URL: setting(z.url({ protocol: /^rediss?$/ }).optional(), {
    description: '`redis://` or `rediss://` URL. Unset under `npm start`: a private `redis-server` is started. Required for `npm run api` / `npm run worker`.',
  }),
  REDIS_SERVER_PATH: setting(z.string().min(1).optional(), {
    shownDefault: '`redis-server` on `PATH`',
    description: 'The private Redis binary for `npm start`.',
  }),
  QUEUE_PREFIX: setting(
    z.string().regex(/^[A-Za-z0-9_{}-]+$/, 'use letters, digits, _, -, and {} for a Redis Cluster hash tag').default('sandq'),
    { description: 'Prefix of every Redis key; deployments sharing one Redis need different prefixes (Redis Cluster: a hash tag, `{sandq}`).' },
  ),
  LOG_LEVEL: setting(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), {
    description: '`fatal` … `trace`, or `silent`.',
  }),
  NODE_ENV: setting(z.enum(['development', 'production', 'test']).default('development'), {
    description: '`production` makes `API_KEYS` mandatory and never serves Bull Board or `/metrics` without the admin credentials (the container image sets it).',
  }),
  MAX_REQUEST_BYTES: setting(z.coerce.number().int().positive().default(5 * 1024 * 1024), { unit: 'bytes', description: 'Largest request body (`413` past it).' }),
});
