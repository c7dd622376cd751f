import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminCredentials } from '../../src/shared/AdminCredentials.js';
import { freePort } from '../../src/shared/freePort.js';
import { createLogger } from '../../src/shared/logger.js';
import { WorkerMetricsServer } from '../../src/worker/WorkerMetricsServer.js';
import { eventually } from '../helpers/eventually.js';
import { postJson, runExecution, startTestService, type TestService } from '../helpers/service.js';
import { WebhookReceiver } from '../helpers/webhookReceiver.js';

let svc: TestService;
let receiver: WebhookReceiver;
/** Where the worker's metrics listener is asked to listen, as an operator would set it. */
let workerMetricsPort: number;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  workerMetricsPort = await freePort();
  svc = await startTestService({
    WORKER_METRICS_PORT: String(workerMetricsPort),
    RATE_LIMIT_PER_MINUTE: '4',
    POOL_SIZE: '1',
    POOL_RUNTIMES: 'bash',
    WEBHOOK_SECRET: 'a-webhook-secret-of-some-length',
    WEBHOOK_ALLOW_PRIVATE: 'true',
  });
});
afterAll(async () => {
  await svc?.stop();
  await receiver?.close();
});

/** The sum of the samples of `name` that carry `labels` (others may differ); undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum = (sum ?? 0) + Number(line.split(' ').at(-1));
  }
  return sum;
}

describe('GET /metrics', () => {
  let text: string;
  beforeAll(async () => {
    expect((await runExecution(svc.baseUrl, { language: 'bash', code: 'echo ok' })).status).toBe('succeeded');
    expect((await runExecution(svc.baseUrl, { language: 'bash', code: 'exit 3' })).status).toBe('failed');
    const hooked = await runExecution(svc.baseUrl, { language: 'bash', code: 'true', webhook: { url: receiver.url() } });
    await eventually(async () => receiver.received.length === 1, 10_000, 'the webhook');
    await eventually(async () => {
      const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${hooked.id}`)).json()) as { webhook: { status: string } };
      return ex.webhook.status === 'delivered';
    }, 10_000, 'the delivery to be recorded');
    // Three used of four a minute: a batch of two is refused whole.
    expect((await postJson(svc.baseUrl, '/v1/executions/batch', { executions: [{ language: 'bash', code: 'true' }, { language: 'bash', code: 'true' }] })).status).toBe(429);
    const res = await fetch(`${svc.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    text = await res.text();
  });

  it('counts submissions by language and owner, and refusals by reason', () => {
    expect(sample(text, 'sandq_executions_submitted_total', { language: 'bash', owner: 'anonymous' })).toBe(3);
    expect(sample(text, 'sandq_submissions_rejected_total', { reason: 'rate_limited', owner: 'anonymous' })).toBe(2);
  });

  it('counts executions by final status and language, with durations and queue waits', () => {
    expect(sample(text, 'sandq_executions_finished_total', { status: 'succeeded', language: 'bash' })).toBe(2);
    expect(sample(text, 'sandq_executions_finished_total', { status: 'failed', language: 'bash' })).toBe(1);
    expect(sample(text, 'sandq_execution_duration_seconds_count', { language: 'bash', status: 'succeeded' })).toBe(2);
    expect(sample(text, 'sandq_execution_duration_seconds_bucket', { language: 'bash', status: 'failed', le: '+Inf' })).toBe(1);
    expect(sample(text, 'sandq_execution_queue_wait_seconds_count', { language: 'bash' })).toBe(3);
  });

  it('reads the queue depth by state, Redis and the workers on scrape', () => {
    expect(sample(text, 'sandq_queue_jobs', { queue: 'executions', state: 'completed' })).toBe(3);
    expect(sample(text, 'sandq_queue_jobs', { queue: 'executions', state: 'waiting' })).toBe(0);
    expect(sample(text, 'sandq_queue_jobs', { queue: 'webhooks', state: 'completed' })).toBe(1);
    expect(sample(text, 'sandq_redis_up')).toBe(1);
    expect(sample(text, 'sandq_workers')).toBe(1);
  });

  it('has the pool, webhook, HTTP and process figures', () => {
    expect(sample(text, 'sandq_pool_acquire_seconds_count', { runtime: 'bash' })).toBe(3);
    expect(sample(text, 'sandq_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(sample(text, 'sandq_http_requests_total', { method: 'POST', route: '/v1/executions', status: '202' })).toBe(3);
    expect(sample(text, 'sandq_http_requests_total', { method: 'POST', route: '/v1/executions/batch', status: '429' })).toBe(1);
    expect(text).toContain('# TYPE sandq_execution_attempt_failures_total counter');
    expect(text).toContain('# TYPE sandq_sandboxes_lost_total counter');
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });
});

describe("the worker's metrics listener (WORKER_METRICS_PORT)", () => {
  it('serves the same registry and a health check', async () => {
    const port = workerMetricsPort;
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(await metrics.text(), 'sandq_executions_finished_total', { status: 'succeeded', language: 'bash' })).toBeGreaterThanOrEqual(2);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', running: true, redis: 'ready' });
    const other = await fetch(`http://127.0.0.1:${port}/other`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
  });

  it('asks for the admin credentials when they are set, but not for /healthz', async () => {
    const server = await WorkerMetricsServer.start({
      host: '127.0.0.1',
      port: 0,
      credentials: new AdminCredentials('ops', 'a long password'),
      health: () => ({ running: false, redis: 'reconnecting' }),
      logger: createLogger('silent'),
    });
    try {
      const url = `http://127.0.0.1:${server.port}`;
      const denied = await fetch(`${url}/metrics`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
      const allowed = await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from('ops:a long password').toString('base64')}` } });
      expect(allowed.status).toBe(200);
      // A stopping worker says so.
      expect((await fetch(`${url}/healthz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });
});
