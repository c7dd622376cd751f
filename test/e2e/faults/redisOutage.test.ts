import { execFileSync } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServerProcess } from '../../../src/cli/RedisServerProcess.js';
import { type RunningService, startService } from '../../../src/cli/startCommand.js';
import { loadConfig } from '../../../src/shared/config.js';
import { createLogger } from '../../../src/shared/logger.js';
import { API_COMMAND_TIMEOUT_MS } from '../../../src/shared/redis.js';
import { eventually } from '../../helpers/eventually.js';
import { type SandqProcess, startSandqProcess, stopSandqProcess } from '../../helpers/processes.js';
import { startTestRedis } from '../../helpers/redis.js';
import { isolatedSandbox } from '../../helpers/sandboxIsolation.js';
import { postJson, type ExecutionJson } from '../../helpers/service.js';
import { SseClient } from '../../helpers/sse.js';

// Redis with an append-only file, restarted on the same port and data dir; two
// worker processes; the API in this process (its requests are what we time).
let redis: RedisServerProcess;
let api: RunningService;
let baseUrl: string;
let client: Redis;
let queue: Queue;
const workers: SandqProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis({ appendOnly: true });
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0' });
  api = await startService('api', config, createLogger('silent'));
  baseUrl = `http://127.0.0.1:${api.api!.port}`;
  // The test's own view of the queue: a client that waits out outages.
  client = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  client.on('error', () => {});
  queue = new Queue('executions', { connection: client, prefix: config.QUEUE_PREFIX });
  const starting = [0, 1].map(() =>
    startSandqProcess('worker', {
      REDIS_URL: redis.url,
      WORKER_CONCURRENCY: '2',
      POOL_SIZE: '2',
      POOL_RUNTIMES: 'bash',
      ...isolatedSandbox(100),
      // A job whose worker never heard that it got it (the reply lost as Redis stopped) is
      // taken again once its lock lapses: after 10 to 20 s instead of 30 to 60 s.
      JOB_LOCK_MS: '10000',
    }),
  );
  workers.push(...(await Promise.all(starting)));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopSandqProcess(w, 'SIGKILL')));
  await queue?.close();
  client?.disconnect();
  await api?.stop();
  await redis?.destroy();
});

const isFinal = (status: string) => status !== 'queued' && status !== 'running';

// The API gives up on Redis after its command timeout (about a second with the answer); a hang
// would last until Redis returns. The margin is for a loaded host, far short of a hang.
const ANSWER_WITHIN_MS = 5 * API_COMMAND_TIMEOUT_MS;
// A worker's blocking wait for jobs: after Redis returns it takes one within about that.
const WORKER_BLOCKING_WAIT_MS = 5000;

async function expectUnavailable(what: string, request: () => Promise<Response>): Promise<number> {
  const started = performance.now();
  const res = await request();
  const ms = performance.now() - started;
  expect(res.status, what).toBe(503);
  expect(res.headers.get('content-type'), what).toContain('application/problem+json');
  expect(res.headers.get('retry-after'), what).toMatch(/^\d+$/);
  expect(((await res.json()) as { status: number }).status, what).toBe(503);
  expect(ms, `${what} answered in ${ms.toFixed(0)} ms`).toBeLessThan(ANSWER_WITHIN_MS);
  return ms;
}

describe('Redis hangs (SIGSTOP: connections stay open, nothing answers)', () => {
  it('the API still answers 503, within its command timeout', async () => {
    const pid = Number(execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${redis.port}`]).toString().trim().split('\n')[0]);
    const id = `/v1/executions/ex_${'0'.repeat(32)}`;
    process.kill(pid, 'SIGSTOP');
    let timings: number[];
    try {
      timings = await Promise.all([
        // An Idempotency-Key: the submit may still be queued once Redis wakes, as a client retrying would need.
        expectUnavailable('submit', () => postJson(baseUrl, '/v1/executions', { language: 'bash', code: 'true' }, { 'idempotency-key': 'during-the-hang' })),
        expectUnavailable('get', () => fetch(baseUrl + id)),
        expectUnavailable('list', () => fetch(`${baseUrl}/v1/executions`)),
        expectUnavailable('events', () => fetch(`${baseUrl}${id}/events`)),
        expectUnavailable('readyz', () => fetch(`${baseUrl}/readyz`)),
        (async () => {
          // Metrics still answer, in time, and say Redis is not answering.
          const started = performance.now();
          const metrics = await fetch(`${baseUrl}/metrics`);
          expect(metrics.status).toBe(200);
          expect(await metrics.text()).toMatch(/^sandq_redis_up 0$/m);
          const ms = performance.now() - started;
          expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
          return ms;
        })(),
      ]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    console.log(`[fault] Redis frozen (SIGSTOP): API 503s (and /metrics, 200) in ${Math.min(...timings).toFixed(0)}-${Math.max(...timings).toFixed(0)} ms`);
    // Once Redis answers again, so does the API.
    await eventually(async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 20_000, 'the API to be ready again');
  });
});

describe('Redis stops', () => {
  it('the API answers 503 within its command timeout, and the workers take jobs again soon after its return', async () => {
    const done = (await (await postJson(baseUrl, '/v1/executions', { language: 'bash', code: 'true' })).json()) as { id: string };
    await eventually(async () => (await queue.getJobState(done.id)) === 'completed', 20_000, 'a first job');
    // A long-poll and an event stream open when Redis goes.
    const slow = (await (await postJson(baseUrl, '/v1/executions', { language: 'bash', code: 'sleep 3' })).json()) as { id: string };
    await eventually(async () => (await queue.getJobState(slow.id)) === 'active', 20_000, 'the slow job to start');
    const longPoll = fetch(`${baseUrl}/v1/executions/${slow.id}?wait=30`);
    const stream = await SseClient.connect(`${baseUrl}/v1/executions/${slow.id}/events`);
    await stream.waitFor((e) => e.event === 'status');

    const stoppedAt = performance.now();
    await redis.stop();
    const pollRes = await longPoll;
    const pollMs = performance.now() - stoppedAt;
    expect(pollRes.status).toBe(503);
    expect(pollMs).toBeLessThan(ANSWER_WITHIN_MS);
    await stream.ended;
    const streamMs = performance.now() - stoppedAt;
    expect(streamMs).toBeLessThan(ANSWER_WITHIN_MS);

    const id = `/v1/executions/${done.id}`;
    const timings = [
      await expectUnavailable('submit', () => postJson(baseUrl, '/v1/executions', { language: 'bash', code: 'true' })),
      await expectUnavailable('batch', () => postJson(baseUrl, '/v1/executions/batch', { executions: [{ language: 'bash', code: 'true' }] })),
      await expectUnavailable('get', () => fetch(baseUrl + id)),
      await expectUnavailable('long-poll', () => fetch(`${baseUrl}${id}?wait=10`)),
      await expectUnavailable('list', () => fetch(`${baseUrl}/v1/executions`)),
      await expectUnavailable('events', () => fetch(`${baseUrl}${id}/events`)),
      await expectUnavailable('cancel', () => fetch(baseUrl + id, { method: 'DELETE' })),
      await expectUnavailable('languages', () => fetch(`${baseUrl}/v1/languages`)),
      await expectUnavailable('readyz', () => fetch(`${baseUrl}/readyz`)),
    ];
    // Liveness does not depend on Redis; metrics still answer and say Redis is down.
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^sandq_redis_up 0$/m);

    // Longer than a worker's blocking wait for jobs (5 s) and its watchdog: the case of BullMQ #4585.
    await new Promise((resolve) => setTimeout(resolve, 7000 - (performance.now() - stoppedAt)));
    await redis.resume();
    const resumedAt = performance.now();

    // Submit as a client would: retry while the API reconnects.
    let firstAccepted = 0;
    let ids: string[] = [];
    await eventually(async () => {
      const res = await postJson(baseUrl, '/v1/executions/batch', { executions: Array.from({ length: 8 }, () => ({ language: 'bash', code: 'sleep 0.5' })) });
      if (res.status !== 200) return false;
      firstAccepted = performance.now() - resumedAt;
      ids = ((await res.json()) as { items: { id: string }[] }).items.map((item) => item.id);
      return true;
    }, 20_000, 'the API to accept again');
    const jobs = await eventually(async () => {
      const all = await Promise.all(ids.map((jobId) => queue.getJob(jobId)));
      return all.every((job) => job?.finishedOn) ? all : undefined;
    }, 20_000, 'the jobs to finish');
    // When each worker took its first job after Redis came back.
    const firstTaken = new Map<string, number>();
    const resumedAtEpoch = Date.now() - (performance.now() - resumedAt);
    for (const job of jobs) {
      const by = job!.processedBy!;
      firstTaken.set(by, Math.min(firstTaken.get(by) ?? Infinity, Math.round(job!.processedOn! - resumedAtEpoch)));
    }
    const slowFinal = (await (await fetch(`${baseUrl}/v1/executions/${slow.id}?wait=20`)).json()) as ExecutionJson;

    console.log(
      `[fault] Redis stopped for ${(resumedAt - stoppedAt).toFixed(0)} ms: API 503s in ${Math.min(...timings).toFixed(0)}-${Math.max(...timings).toFixed(0)} ms ` +
        `(open long-poll ${pollMs.toFixed(0)} ms, open event stream ended in ${streamMs.toFixed(0)} ms); after Redis returned: API accepting in ${firstAccepted.toFixed(0)} ms, ` +
        `workers taking jobs in ${[...firstTaken.values()].map((ms) => `${ms} ms`).join(' and ')}; jobs=${jobs.length} completed=${jobs.filter((j) => j!.returnvalue?.status === 'succeeded').length}; ` +
        `the job running during the outage: ${slowFinal.status}`,
    );
    // Both workers, not just one of them, took jobs within a few blocking waits of Redis returning (not stuck: BullMQ #4585).
    expect(firstTaken.size).toBe(workers.length);
    for (const ms of firstTaken.values()) expect(ms).toBeLessThan(3 * WORKER_BLOCKING_WAIT_MS);
    expect(jobs.every((job) => job!.returnvalue?.status === 'succeeded')).toBe(true);
    expect(slowFinal.status).toBe('succeeded');
  }, 60_000);
});

describe('Redis restarts during a run of 1,000 jobs', () => {
  it('loses none: every job reaches a final status', async () => {
    const finished = async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0);
    };
    const before = await finished();
    const started = performance.now();
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const res = await postJson(baseUrl, '/v1/executions/batch', { executions: Array.from({ length: 100 }, () => ({ language: 'bash', code: 'true' })) });
      expect(res.status).toBe(200);
      ids.push(...((await res.json()) as { items: { id: string }[] }).items.map((item) => item.id));
    }
    await eventually(async () => (await finished()) - before >= 250, 60_000, '250 jobs to finish');
    const doneBeforeStop = (await finished()) - before;

    const stoppedAt = performance.now();
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await redis.resume();
    const resumedAt = performance.now();
    const doneAfterRestart = (await finished()) - before;
    await eventually(async () => (await finished()) - before > doneAfterRestart, 10_000, 'a job to finish after the restart');
    const recoveryMs = performance.now() - resumedAt;
    await eventually(async () => (await finished()) - before >= ids.length, 120_000, 'every job to finish');
    const totalMs = performance.now() - started;

    // Every execution the API accepted, read back through the API.
    const statuses = new Map<string, number>();
    let lost = 0;
    for (let i = 0; i < ids.length; i += 50) {
      const views = await Promise.all(ids.slice(i, i + 50).map(async (id) => {
        const res = await fetch(`${baseUrl}/v1/executions/${id}`);
        return res.status === 200 ? ((await res.json()) as ExecutionJson) : undefined;
      }));
      for (const view of views) {
        if (!view || !isFinal(view.status)) lost++;
        else statuses.set(view.status, (statuses.get(view.status) ?? 0) + 1);
      }
    }
    console.log(
      `[fault] Redis restarted (AOF) during ${ids.length} jobs: finished before the stop=${doneBeforeStop}, down ${(resumedAt - stoppedAt).toFixed(0)} ms, ` +
        `first job finished ${recoveryMs.toFixed(0)} ms after it returned; final: ${JSON.stringify(Object.fromEntries(statuses))}, lost=${lost}, ` +
        `all ${ids.length} final in ${(totalMs / 1000).toFixed(1)} s`,
    );
    expect(lost).toBe(0);
    expect(statuses.get('succeeded')).toBe(ids.length);
  }, 150_000);
});
