import { z } from 'zod';
import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const webhookSettings = settingGroup(
  'Webhooks',
  'Signed deliveries of final executions ([API](api.md#webhooks)). Unset `WEBHOOK_SECRET`: requests with a webhook are refused.',
  {
    WEBHOOK_SECRET: setting(z.string().min(16, 'use at least 16 characters').optional(), {
      description: 'Key of the webhook signatures (at least 16 characters). Unset: requests with a `webhook` are refused (`400`), and a worker without it delivers none.',
    }),
    WEBHOOK_ALLOW_PRIVATE: setting(z.stringbool().default(false), { description: '`true` lets webhooks reach loopback, private and link-local addresses.' }),
    WEBHOOK_ATTEMPTS: setting(positiveInt.max(50).default(10), { description: 'Delivery attempts in all.' }),
    WEBHOOK_BACKOFF_MS: setting(positiveInt.default(7000), {
      unit: 'ms',
      description: 'Wait before the first retry; doubles with each (the default spreads 10 attempts over about an hour: 7 s, 14 s, 28 s …).',
    }),
    WEBHOOK_TIMEOUT_MS: setting(positiveInt.max(120_000).default(10_000), { unit: 'ms', description: 'How long one attempt waits for an answer.' }),
    WEBHOOK_CONCURRENCY: setting(positiveInt.max(1000).default(16), { description: 'Deliveries one worker runs at once.' }),
  },
);
