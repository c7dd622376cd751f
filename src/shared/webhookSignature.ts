import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signing and checking of sandq webhooks. A receiver imports
 * `verifyWebhookSignature` (package export `sandq/webhook-signature`); it has
 * no dependency beyond node:crypto, so it may also be copied as is.
 *
 * `Sandq-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
 */
/** The webhook's headers, as the sender writes them and as node's `req.headers` spells them (lower case). */
export const SIGNATURE_HEADER = 'sandq-signature';
/** The delivery's id, the same on every retry: a receiver drops repeats by it. */
export const DELIVERY_HEADER = 'sandq-delivery';
export const EVENT_HEADER = 'sandq-event';

export type WebhookHeaders =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

function hmac(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The Sandq-Signature header value for `body`, signed at `nowMs`. */
export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * True when `rawBody` (the exact bytes received, before any JSON parsing) was
 * signed with `secret` no more than `toleranceSeconds` from now. Several `v1=`
 * entries are accepted, so a sender may sign with an old and a new secret.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  toleranceSeconds = 300,
  nowMs = Date.now(),
): boolean {
  const header = headerValue(headers, SIGNATURE_HEADER);
  if (!header) return false;
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value) timestamp = value;
    if (key === 'v1' && value) signatures.push(value);
  }
  if (!timestamp || !/^\d+$/.test(timestamp) || signatures.length === 0) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, rawBody), 'hex');
  return signatures.some((signature) => {
    if (!/^[0-9a-f]{64}$/i.test(signature)) return false;
    return timingSafeEqual(Buffer.from(signature, 'hex'), expected);
  });
}
