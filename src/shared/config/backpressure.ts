import { nonNegativeInt, positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const backpressureSettings = settingGroup(
  'Backpressure',
  'What one API key, and the deployment, may ask of it ([Operations](operations.md#backpressure)). `0` turns any of the first four off.',
  {
    RATE_LIMIT_PER_MINUTE: setting(nonNegativeInt.default(600), {
      unit: 'per minute',
      description: 'Executions each API key may submit a minute, counted in Redis across all API instances; a batch counts each execution.',
    }),
    MAX_QUEUE_DEPTH: setting(nonNegativeInt.default(10_000), {
      description: 'Executions waiting for a worker (waiting + prioritized + delayed) above which submissions get `503`.',
    }),
    MAX_STORED_BYTES_PER_KEY: setting(nonNegativeInt.default(1024 * 1024 * 1024), {
      unit: 'bytes',
      description: 'Bytes of requests and results each API key may keep in Redis (results for `RESULT_TTL_MS`); past it submissions get `507`.',
    }),
    MAX_QUEUED_PER_KEY: setting(nonNegativeInt.default(1000), {
      description: 'Executions each API key may have waiting for a worker; past it submissions get `429`.',
    }),
    SSE_MAX_STREAMS: setting(positiveInt.default(1000), {
      description: 'Event streams one API process keeps open (each holds a Redis connection while it waits); past it a new stream is a `429`.',
    }),
    SSE_MAX_STREAMS_PER_KEY: setting(positiveInt.default(20), { description: 'The same, per API key.' }),
    LONG_POLL_MAX: setting(positiveInt.default(1000), {
      description: 'Long-polls (`?wait=` on an execution not final yet) one API process holds, each a socket and queue-event listeners for up to a minute; past it a new one is a `429`.',
    }),
    LONG_POLL_MAX_PER_KEY: setting(positiveInt.default(100), { description: 'The same, per API key.' }),
  },
);
