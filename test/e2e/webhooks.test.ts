import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/freePort.js';
import { verifyWebhookSignature } from '../../src/shared/webhookSignature.js';
import { eventually } from '../helpers/eventually.js';
import { postJson, startTestService, type TestService } from '../helpers/service.js';
import { type ReceiverAnswer, WebhookReceiver } from '../helpers/webhookReceiver.js';

// Receivers listen on loopback, so this deployment allows private targets; short backoff keeps retries quick.
const SECRET = 'whsec-test-0123456789abcdef';
let svc: TestService;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  svc = await startTestService({
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_ATTEMPTS: '6',
    WEBHOOK_BACKOFF_MS: '200',
    WEBHOOK_TIMEOUT_MS: '2000',
    // Its own sandbox uids and work dirs, apart from test files that count theirs.
  });
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await svc?.stop();
});

async function receiver(answer?: (request: number) => ReceiverAnswer, port?: number): Promise<WebhookReceiver> {
  const started = await WebhookReceiver.start(answer, port);
  receivers.push(started);
  return started;
}

interface Delivery {
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
}

async function submitWithWebhook(url: string, code = 'print("hi")'): Promise<string> {
  const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'python', code, webhook: { url } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function execution(id: string): Promise<Record<string, unknown> & { status: string; webhook: Delivery | null }> {
  return (await (await fetch(`${svc.baseUrl}/v1/executions/${id}`)).json()) as Record<string, unknown> & { status: string; webhook: Delivery | null };
}

async function deliveryWhere(id: string, match: (d: Delivery) => boolean, what: string): Promise<Delivery> {
  return await eventually(async () => {
    const webhook = (await execution(id)).webhook;
    return webhook && match(webhook) ? webhook : undefined;
  }, 20_000, what);
}

describe('webhooks', () => {
  it('POSTs the final execution once, signed so the exported helper verifies it', async () => {
    const hook = await receiver();
    const id = await submitWithWebhook(hook.url());
    await deliveryWhere(id, (d) => d.status === 'delivered', 'delivery');
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;

    expect(request!.headers['sandq-event']).toBe('execution.finished');
    expect(request!.headers['sandq-delivery']).toMatch(/^whd_[0-9a-f]{32}$/);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(verifyWebhookSignature(SECRET, request!.headers, request!.body, 300)).toBe(true);
    expect(verifyWebhookSignature('another-secret-0123456789', request!.headers, request!.body, 300)).toBe(false);
    expect(verifyWebhookSignature(SECRET, request!.headers, request!.body.replace('hi', 'ho'), 300)).toBe(false);

    // The body is the execution as GET shows it, without the delivery's own state.
    const { webhook, ...view } = await execution(id);
    expect(JSON.parse(request!.body)).toEqual(view);
    expect(view.status).toBe('succeeded');
    expect(webhook).toEqual({ url: hook.url(), status: 'delivered', attempts: 1, lastError: null });
  });

  it('retries a failing receiver with the same delivery id until it answers 2xx', async () => {
    const hook = await receiver((n) => ({ status: n <= 2 ? 500 : 200 }));
    const id = await submitWithWebhook(hook.url());
    const delivery = await deliveryWhere(id, (d) => d.status === 'delivered', 'delivery');
    expect(delivery.attempts).toBe(3);
    expect(delivery.lastError).toContain('500');
    expect(hook.received).toHaveLength(3);
    const ids = new Set(hook.received.map((r) => r.headers['sandq-delivery']));
    expect(ids.size).toBe(1);
    // Retries carry the same body, freshly signed.
    expect(new Set(hook.received.map((r) => r.body)).size).toBe(1);
    for (const r of hook.received) expect(verifyWebhookSignature(SECRET, r.headers, r.body)).toBe(true);
  });

  it('reaches a receiver that was down at first', async () => {
    const port = await freePort();
    const id = await submitWithWebhook(`http://127.0.0.1:${port}/late`);
    const failed = await deliveryWhere(id, (d) => d.attempts >= 1, 'a first attempt');
    expect(failed.status).toBe('pending');
    expect(failed.lastError).toMatch(/ECONNREFUSED/);
    const hook = await receiver(undefined, port);
    const delivery = await deliveryWhere(id, (d) => d.status === 'delivered', 'delivery');
    expect(hook.received).toHaveLength(1);
    expect(delivery.attempts).toBeGreaterThanOrEqual(2);
  });

  it('retries a receiver that does not answer within WEBHOOK_TIMEOUT_MS', async () => {
    const hook = await receiver((n) => (n === 1 ? { status: 200, delayMs: 5000 } : { status: 200 }));
    const id = await submitWithWebhook(hook.url());
    const delivery = await deliveryWhere(id, (d) => d.status === 'delivered', 'delivery');
    expect(delivery.attempts).toBe(2);
    expect(delivery.lastError).toBe('no answer within 2000 ms');
    expect(hook.received).toHaveLength(2);
  });

  it('stops after 410 Gone', async () => {
    const hook = await receiver(() => ({ status: 410 }));
    const id = await submitWithWebhook(hook.url());
    const delivery = await deliveryWhere(id, (d) => d.status === 'failed', 'the delivery to fail');
    expect(delivery).toMatchObject({ attempts: 1 });
    expect(delivery.lastError).toContain('410');
    // The next retry would have come 200 ms later.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(hook.received).toHaveLength(1);
  });

  it('does not follow a redirect', async () => {
    const elsewhere = await receiver();
    const hook = await receiver(() => ({ status: 302, headers: { location: elsewhere.url('/stolen') } }));
    const id = await submitWithWebhook(hook.url());
    const delivery = await deliveryWhere(id, (d) => d.attempts >= 2, 'a retry');
    expect(delivery.status).not.toBe('delivered');
    expect(delivery.lastError).toMatch(/302.*redirect/);
    expect(hook.received.length).toBeGreaterThanOrEqual(2);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('reports an execution that was cancelled', async () => {
    const hook = await receiver();
    const id = await submitWithWebhook(hook.url(), 'import time\ntime.sleep(30)');
    expect((await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' })).status).toBe(202);
    await deliveryWhere(id, (d) => d.status === 'delivered', 'delivery');
    expect(JSON.parse(hook.received[0]!.body)).toMatchObject({ id, status: 'cancelled' });
  });

  it('shows the delivery in Bull Board as its own queue', async () => {
    const body = (await (await fetch(`${svc.baseUrl}/admin/queues/api/queues`)).json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['executions', 'webhooks']));
  });
});
