import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { postJson, startTestService, type TestService } from '../helpers/service.js';
import { WebhookReceiver } from '../helpers/webhookReceiver.js';

// The default policy: private, loopback and link-local targets are refused.
let svc: TestService;
let hook: WebhookReceiver;

beforeAll(async () => {
  svc = await startTestService({
    WEBHOOK_SECRET: 'whsec-test-0123456789abcdef',
    WEBHOOK_BACKOFF_MS: '100',
    POOL_SIZE: '0',
  });
  hook = await WebhookReceiver.start();
});
afterAll(async () => {
  await hook?.close();
  await svc?.stop();
});

const valid = { language: 'bash', code: 'echo hi' };

describe('webhook targets', () => {
  it.each([
    ['http://127.0.0.1:9/hook'],
    ['http://10.1.2.3/hook'],
    ['http://169.254.169.254/latest/meta-data'],
    ['http://[::1]:9/hook'],
    ['http://[::ffff:127.0.0.1]/hook'],
    ['http://[fd00::1]/hook'],
    ['http://0.0.0.0/hook'],
  ])('refuses the private address literal %s at submit', async (url) => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { ...valid, webhook: { url } });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toContain('webhook.url');
  });

  it.each([['ftp://example.com/hook'], ['not a url'], ['https://user:pass@example.com/hook']])('refuses %s at submit', async (url) => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { ...valid, webhook: { url } });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toContain('webhook.url');
  });

  it('refuses a name that resolves to loopback, after resolving it, and never connects', async () => {
    const url = `http://localhost:${hook.port}/hook`;
    const res = await postJson(svc.baseUrl, '/v1/executions', { ...valid, webhook: { url } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const webhook = await eventually(async () => {
      const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}`)).json()) as { webhook: { status: string; attempts: number; lastError: string } };
      return ex.webhook.status === 'failed' ? ex.webhook : undefined;
    }, 20_000, 'the delivery to be refused');
    expect(webhook.lastError).toMatch(/resolves to (127\.0\.0\.1|::1), a private, loopback or link-local address/);
    expect(webhook.attempts).toBe(0);
    // Refused for good: no retry reaches the receiver either.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.received).toHaveLength(0);
  });
});
