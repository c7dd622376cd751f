import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startService } from '../../src/cli/startCommand.js';
import { executionKeys } from '../../src/executions/executionKeys.js';
import { freePort } from '../../src/shared/freePort.js';
import { createLogger } from '../../src/shared/logger.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData, executionJobOptions, WEBHOOKS_QUEUE, webhookDeliveryId } from '../../src/shared/queues.js';
import { eventually } from '../helpers/eventually.js';
import { type SandqProcess, startSandqProcess, stopSandqProcess } from '../helpers/processes.js';
import { type ExecutionJson, postJson, startTestService, type TestService } from '../helpers/service.js';
import { SseClient } from '../helpers/sse.js';
import { WebhookReceiver } from '../helpers/webhookReceiver.js';

// Two API instances in this process (they share one metrics registry) and a
// worker as a child process of its own, with its own registry: a count is
// exactly one only when the sum over both registries is.
const SECRET = 'whsec-finalization-0123456789';
let svc: TestService;
let secondApi: RunningService;
let receiver: WebhookReceiver;
let worker: { proc: SandqProcess; metricsUrl: string } | undefined;
let client: Redis;
let queue: Queue<ExecutionJobData>;

async function startWorker(): Promise<void> {
  const port = await freePort();
  const proc = await startSandqProcess('worker', {
    REDIS_URL: svc.redis.url,
    WORKER_CONCURRENCY: '1',
    POOL_SIZE: '1',
    POOL_RUNTIMES: 'bash',
    JOB_ATTEMPTS: '1',
    // Its stalled checks hold the queue's stall-check slot this long; another checker waits for it.
    JOB_LOCK_MS: '2000',
    // One attempt: a receiver that is down fails the delivery job at once, for an operator to retry.
    WEBHOOK_ATTEMPTS: '1',
    WORKER_METRICS_PORT: String(port),
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  worker = { proc, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

async function stopWorker(): Promise<void> {
  if (worker) await stopSandqProcess(worker.proc);
  worker = undefined;
}

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  // JOB_ATTEMPTS=1: a service fault ends the execution at its first failed attempt.
  svc = await startTestService({ JOB_ATTEMPTS: '1', WEBHOOK_ATTEMPTS: '1', RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' }, 'api');
  secondApi = await startService('api', svc.config, createLogger('silent'));
  client = new Redis(svc.redis.url);
  queue = new Queue<ExecutionJobData>(EXECUTIONS_QUEUE, { connection: client, prefix: svc.config.QUEUE_PREFIX });
  await startWorker();
}, 60_000);

afterAll(async () => {
  await stopWorker();
  await queue?.close();
  client?.disconnect();
  await secondApi?.stop();
  await svc?.stop();
  await receiver?.close();
});

function finishedCount(text: string, status: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('sandq_executions_finished_total{') && line.includes(`status="${status}"`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** Executions counted with `status`, over every process that counts. */
async function counted(status: string): Promise<number> {
  const texts = [await (await fetch(`${svc.baseUrl}/metrics`)).text()];
  if (worker) texts.push(await (await fetch(worker.metricsUrl)).text());
  return texts.reduce((sum, text) => sum + finishedCount(text, status), 0);
}

function webhooksFor(id: string): number {
  return receiver.received.filter((hook) => (JSON.parse(hook.body) as { id: string }).id === id).length;
}

/** `end` entries in the execution's live stream: each one is a `done` for every client that joins. */
async function endEntries(id: string): Promise<number> {
  const entries = await client.xrange(executionKeys(svc.config.QUEUE_PREFIX).events(id), '-', '+');
  return entries.filter(([, fields]) => fields[0] === 't' && fields[1] === 'end').length;
}

async function read(id: string): Promise<ExecutionJson> {
  return (await (await fetch(`${svc.baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
}

async function submit(request: Record<string, unknown>): Promise<string> {
  const res = await postJson(svc.baseUrl, '/v1/executions', { ...request, webhook: { url: receiver.url() } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Polls a while longer, so that a late second one shows; fails as soon as it does. */
async function staysAtOne(id: string, status: string, before: number): Promise<void> {
  for (let poll = 0; poll < 20; poll++) {
    expect(webhooksFor(id), 'webhooks').toBe(1);
    expect((await counted(status)) - before, 'counted').toBe(1);
    expect(await endEntries(id), 'end entries').toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits for the execution's one webhook, count and `done`, then checks no second comes. */
async function expectFinalizedOnce(id: string, status: string, before: number, stream: SseClient): Promise<ExecutionJson> {
  const done = await stream.waitFor((event) => event.event === 'done', 30_000);
  expect((JSON.parse(done.data) as ExecutionJson).status).toBe(status);
  await eventually(async () => webhooksFor(id) >= 1, 30_000, `the webhook of ${id}`);
  await eventually(async () => (await counted(status)) - before >= 1, 10_000, `the count of ${id}`);
  await staysAtOne(id, status, before);
  await stream.ended;
  expect(stream.named('done')).toHaveLength(1);
  return await read(id);
}

const events = (id: string) => SseClient.connect(`${svc.baseUrl}/v1/executions/${id}/events`);

/** Retries the job through BullMQ itself, as Bull Board's Retry does, and waits until it is final again. */
async function retryAndSettle(id: string, from: 'completed' | 'failed'): Promise<Job<ExecutionJobData>> {
  const job = (await queue.getJob(id))!;
  const finishedOn = job.finishedOn;
  await job.retry(from);
  return await eventually(async () => {
    const again = await queue.getJob(id);
    const state = await again?.getState();
    return again && again.finishedOn !== finishedOn && (state === 'completed' || state === 'failed') ? again : undefined;
  }, 30_000, `${id} to be final again`);
}

describe('an execution becomes final exactly once', () => {
  let succeededId: string;
  let failedInRedisId: string;

  it('when it succeeds; and a retry of its completed job does not run the code again', async () => {
    const before = await counted('succeeded');
    // Different on every run: a second run would change the stored stdout.
    succeededId = await submit({ language: 'bash', code: 'head -c 12 /dev/urandom | od -An -tx1' });
    const done = await expectFinalizedOnce(succeededId, 'succeeded', before, await events(succeededId));
    expect(done.result?.stdout).toMatch(/[0-9a-f]{2}/);

    const retried = await retryAndSettle(succeededId, 'completed');
    expect(await retried.getState()).toBe('completed');
    const after = await read(succeededId);
    expect(after.status).toBe('succeeded');
    expect(after.result).toEqual(done.result);
    await staysAtOne(succeededId, 'succeeded', before);
  }, 90_000);

  it('when the program fails (a user-visible failure)', async () => {
    const before = await counted('failed');
    const id = await submit({ language: 'bash', code: 'exit 3' });
    const done = await expectFinalizedOnce(id, 'failed', before, await events(id));
    expect(done.result?.exitCode).toBe(3);
  }, 60_000);

  it('when the worker fails its last attempt; and a retry of its failed job stays failed', async () => {
    const before = await counted('error');
    // Job data the worker cannot lay out (no API writes it: files is not a list): the processor
    // throws, a fault of the service and not of the program.
    const template = (await queue.getJob(succeededId))!.data;
    const id = `ex_${'e'.repeat(32)}`;
    const request = { ...template.request, files: 'not a list' } as unknown as ExecutionJobData['request'];
    await queue.add('execute', { ...template, request }, executionJobOptions(svc.config, id, 0));
    const stream = await events(id);
    const done = await expectFinalizedOnce(id, 'error', before, stream);
    expect(done.error?.code).toBe('internal');

    const retried = await retryAndSettle(id, 'failed');
    expect(await retried.getState()).toBe('failed');
    expect((await read(id)).status).toBe('error');
    await staysAtOne(id, 'error', before);
  }, 60_000);

  it('when it is cancelled while queued', async () => {
    // No worker: the execution stays in the queue until cancelled.
    await stopWorker();
    const before = await counted('cancelled');
    const id = await submit({ language: 'bash', code: 'echo never' });
    const stream = await events(id);
    expect((await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' })).status).toBe(202);
    // Its webhook waits for a worker that delivers it.
    await startWorker();
    const done = await expectFinalizedOnce(id, 'cancelled', before, stream);
    expect(done.result).toBeNull();
  }, 90_000);

  it('when its job stalls too often and fails without its processor, heard by every API instance', async () => {
    await stopWorker();
    const before = await counted('error');
    failedInRedisId = await submit({ language: 'bash', code: 'echo ran' });
    const stream = await events(failedInRedisId);
    // A worker that takes the job and lets its lock lapse, as a dead one does. Its stalled
    // check (maxStalledCount 0) hands the job back marked to fail; the next worker to take it
    // fails it at once, without running the processor, so only queue events tell of it.
    const connection = client.duplicate({ maxRetriesPerRequest: null });
    const dying = new Worker<ExecutionJobData>(EXECUTIONS_QUEUE, () => new Promise(() => {}), {
      connection,
      prefix: svc.config.QUEUE_PREFIX,
      lockDuration: 1000,
      stalledInterval: 500,
      maxStalledCount: 0,
      skipLockRenewal: true,
    });
    const taken = new Promise<void>((resolve) => dying.once('active', () => resolve()));
    const stalled = new Promise<void>((resolve) => dying.once('stalled', () => resolve()));
    try {
      await taken;
      await stalled;
    } finally {
      await dying.close(true);
      connection.disconnect();
    }
    await startWorker();
    await eventually(async () => (await queue.getJobState(failedInRedisId)) === 'failed', 30_000, 'the stalled job to fail');
    const done = await expectFinalizedOnce(failedInRedisId, 'error', before, stream);
    expect(done.error?.code).toBe('internal');
  }, 90_000);

  it('a retry of the stalled-and-failed job does not run the code', async () => {
    const before = await counted('error');
    const retried = await retryAndSettle(failedInRedisId, 'failed');
    // Run again, `echo ran` would have completed as succeeded.
    expect(await retried.getState()).toBe('failed');
    const after = await read(failedInRedisId);
    expect(after.status).toBe('error');
    expect(after.result).toBeNull();
    expect(webhooksFor(failedInRedisId)).toBe(1);
    expect(await counted('error')).toBe(before);
    expect(await endEntries(failedInRedisId)).toBe(1);
  }, 60_000);

  it('a webhook delivery that failed because its receiver was down can still be retried from the queue', async () => {
    const flaky = await WebhookReceiver.start((request) => ({ status: request === 1 ? 503 : 200 }));
    try {
      const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'echo hooked', webhook: { url: flaky.url() } });
      const { id } = (await res.json()) as { id: string };
      const webhooks = new Queue(WEBHOOKS_QUEUE, { connection: client, prefix: svc.config.QUEUE_PREFIX });
      try {
        const delivery = await eventually(async () => {
          const job = await webhooks.getJob(webhookDeliveryId(id));
          return job && (await job.getState()) === 'failed' ? job : undefined;
        }, 30_000, 'the delivery to fail');
        await delivery.retry('failed');
        await eventually(async () => (await read(id)).webhook?.status === 'delivered', 30_000, 'the retried delivery');
        expect(flaky.received).toHaveLength(2);
      } finally {
        await webhooks.close();
      }
    } finally {
      await flaky.close();
    }
  }, 60_000);
});
