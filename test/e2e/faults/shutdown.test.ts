import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolMetrics } from '../../../src/worker/sandbox/poolMetrics.js';
import { eventually } from '../../helpers/eventually.js';
import { postJson, runExecution, startTestService, type TestService } from '../../helpers/service.js';

// The worker's shutdown as the pools see it: a job that finishes within the grace
// must not bring a warm sandbox back, and the warm ones go when the shutdown begins.
let service: TestService;

/** Warm python sandboxes, as the pool's gauge reports them. */
async function warmPython(): Promise<number> {
  const { values } = await poolMetrics.warm.get();
  return values.filter((v) => v.labels.provider === 'local' && v.labels.runtime === 'python').reduce((n, v) => n + v.value, 0);
}

beforeAll(async () => {
  service = await startTestService({ POOL_SIZE: '1', POOL_RUNTIMES: 'python', SHUTDOWN_GRACE_MS: '30000', WORKER_CONCURRENCY: '1' });
});

afterAll(async () => {
  await service?.stop();
});

describe('a worker shutting down', () => {
  it('destroys its warm sandboxes at once and starts none while running jobs finish', async () => {
    const worker = service.service.worker!;
    await eventually(async () => (await warmPython()) === 1, 20_000, 'a warm python sandbox');
    const submitted = await postJson(service.baseUrl, '/v1/executions', { language: 'python', code: 'import time\ntime.sleep(2)\nprint("finished")' });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // The job took the warm sandbox; wait for the pool's replacement, so that there is one to destroy.
    await eventually(async () => ((await (await fetch(`${service.baseUrl}/v1/executions/${id}`)).json()) as { status: string }).status === 'running', 20_000, 'the job running');
    await eventually(async () => (await warmPython()) === 1, 20_000, 'the replacement warm sandbox');

    // What the pool holds when the job ends: it ended during the shutdown, within the grace.
    const warmWhenDone = new Promise<number>((resolve) => worker.worker.once('completed', () => void warmPython().then(resolve)));
    const stopped = worker.close();
    expect(await warmWhenDone).toBe(0);
    await stopped;
    expect(await warmPython()).toBe(0);
  }, 60_000);
});

describe('an idle worker shutting down just after a Redis outage', () => {
  let svc: TestService | undefined;
  afterAll(async () => {
    await svc?.stop();
  });

  it('stops at once, not after its grace: nothing runs, so there is nothing to wait for', async () => {
    // A grace far past the test's timeout: were the close to wait it out, the test would fail.
    svc = await startTestService({ POOL_SIZE: '0', WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: '600000' });
    expect((await runExecution(svc.baseUrl, { language: 'bash', code: 'echo up' })).result?.stdout).toBe('up\n');
    await svc.redis.stop();
    await svc.redis.resume();
    // Stopped while its connections are still finding their way back.
    const stopped = await Promise.race([svc.service.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 20_000))]);
    expect(stopped).toBe('stopped');
  }, 60_000);
});
