import { z } from 'zod';
import { nonNegativeInt, port } from './types.js';
import { setting, settingGroup } from './setting.js';

export const shutdownSettings = settingGroup(
  'Shutdown, recovery and worker metrics',
  'How a worker stops, how soon a dead worker\'s jobs run again, and its own metrics listener ([Operations](operations.md#shutdown)).',
  {
    SHUTDOWN_GRACE_MS: setting(nonNegativeInt.default(60_000), {
      unit: 'ms',
      description: 'On SIGTERM, how long a worker lets running executions finish before it hands them back to the queue.',
    }),
    JOB_LOCK_MS: setting(z.coerce.number().int().min(1000).default(30_000), {
      unit: 'ms',
      description: 'How long a worker\'s claim on a job lasts without renewal: a dead worker\'s jobs are taken again after about this to twice this (min `1000`).',
    }),
    WORKER_METRICS_PORT: setting(port.optional(), {
      unit: 'port',
      description: 'A worker\'s own HTTP listener for `/metrics` and `/healthz` (unset: none; `0`: any free port).',
    }),
    WORKER_METRICS_HOST: setting(z.string().min(1).default('127.0.0.1'), {
      description: 'Its address; `0.0.0.0` for Prometheus on another host or container.',
    }),
  },
);
