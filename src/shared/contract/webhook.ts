import { z } from 'zod';
import { ipLiteralOf, isPrivateAddress } from '../privateAddress.js';

/** What the operator allows for request webhooks. */
export interface WebhookPolicy {
  /** False without WEBHOOK_SECRET: nothing could be signed. */
  enabled: boolean;
  allowPrivate: boolean;
}

export const WEBHOOKS_DISABLED: WebhookPolicy = { enabled: false, allowPrivate: false };

function checkUrl(value: string, policy: WebhookPolicy, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a valid URL' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
  } else if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials; put a token in the path or query instead' });
  } else if (!policy.allowPrivate) {
    // Names are checked again after DNS resolution, at delivery; a literal can be refused now.
    const literal = ipLiteralOf(url.hostname);
    if (literal && isPrivateAddress(literal)) {
      ctx.addIssue({ code: 'custom', message: 'is a private, loopback or link-local address, which this deployment does not deliver to' });
    }
  }
}

/** `"webhook": {"url": "https://…"}`: where the signed result is POSTed once the execution is final. */
export function webhookSchema(policy: WebhookPolicy) {
  return z
    .object({
      url: z.string().max(2048).superRefine((value, ctx) => checkUrl(value, policy, ctx)),
    })
    .strict()
    .superRefine((_webhook, ctx) => {
      if (!policy.enabled) {
        ctx.addIssue({ code: 'custom', message: 'webhooks are not enabled on this deployment (WEBHOOK_SECRET is not set)' });
      }
    });
}
