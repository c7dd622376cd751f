import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/shared/webhookSignature.js';
import { createHmac } from 'node:crypto';

const SECRET = 'whsec-unit-0123456789abcdef';
const BODY = '{"id":"ex_1","status":"succeeded"}';

describe('webhook signatures', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const now = 1_700_000_000_123;
    const header = signWebhook(SECRET, BODY, now);
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies from node headers, fetch Headers, strings and bytes', () => {
    const header = signWebhook(SECRET, BODY);
    expect(verifyWebhookSignature(SECRET, { 'sandq-signature': header }, BODY)).toBe(true);
    expect(verifyWebhookSignature(SECRET, { 'Sandq-Signature': header }, Buffer.from(BODY))).toBe(true);
    expect(verifyWebhookSignature(SECRET, new Headers({ 'Sandq-Signature': header }), new TextEncoder().encode(BODY))).toBe(true);
  });

  it('rejects another secret, a changed body, a missing or malformed header', () => {
    const header = signWebhook(SECRET, BODY);
    expect(verifyWebhookSignature('another-secret-0123456789', { 'sandq-signature': header }, BODY)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { 'sandq-signature': header }, `${BODY} `)).toBe(false);
    expect(verifyWebhookSignature(SECRET, {}, BODY)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { 'sandq-signature': 'v1=abc' }, BODY)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { 'sandq-signature': header.replace(/v1=../, 'v1=zz') }, BODY)).toBe(false);
  });

  it('rejects a signature older (or newer) than the tolerance', () => {
    const signedAt = 1_700_000_000_000;
    const header = { 'sandq-signature': signWebhook(SECRET, BODY, signedAt) };
    expect(verifyWebhookSignature(SECRET, header, BODY, 300, signedAt + 299_000)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, BODY, 300, signedAt + 301_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, 300, signedAt - 301_000)).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const header = signWebhook(SECRET, BODY);
    const old = signWebhook('the-old-secret-0123456789', BODY).split(',')[1];
    expect(verifyWebhookSignature(SECRET, { 'sandq-signature': `${header},${old}` }, BODY)).toBe(true);
    expect(verifyWebhookSignature('the-old-secret-0123456789', { 'sandq-signature': `${header},${old}` }, BODY)).toBe(true);
  });
});
