import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServerProcess } from '../../../src/cli/RedisServerProcess.js';
import { type RunningService, startService } from '../../../src/cli/startCommand.js';
import { loadConfig } from '../../../src/shared/config.js';
import { createLogger } from '../../../src/shared/logger.js';
import { eventually } from '../../helpers/eventually.js';
import { processesInUidRange, type SandqProcess, startSandqProcess, stopSandqProcess } from '../../helpers/processes.js';
import { startTestRedis } from '../../helpers/redis.js';
import { isolatedSandbox } from '../../helpers/sandboxIsolation.js';
import { postJson, type ExecutionJson } from '../../helpers/service.js';

// Workers run as child processes (`sandq start worker`), each with a uid range of its own,
// so that its sandboxes can be told apart on the host; the API runs in this process.
const UID_COUNT = 50;
let redis: RedisServerProcess;
let api: RunningService;
let baseUrl: string;
let queue: Queue;
let client: Redis;
const workers: SandqProcess[] = [];

interface Worker {
  proc: SandqProcess;
  uidBase: number;
}

async function startWorker(env: Record<string, string> = {}): Promise<Worker> {
  const sandbox = isolatedSandbox(UID_COUNT);
  const proc = await startSandqProcess('worker', {
    REDIS_URL: redis.url,
    WORKER_CONCURRENCY: '2',
    POOL_SIZE: '1',
    POOL_RUNTIMES: 'bash',
    // A dead worker's jobs are taken again after 2 to 6 s instead of 30 to 90 s.
    JOB_LOCK_MS: '2000',
    ...sandbox,
    ...env,
  });
  workers.push(proc);
  return { proc, uidBase: Number(sandbox.SANDBOX_UID_BASE) };
}

beforeAll(async () => {
  redis = await startTestRedis();
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0' });
  api = await startService('api', config, createLogger('silent'));
  baseUrl = `http://127.0.0.1:${api.api!.port}`;
  client = new Redis(redis.url);
  queue = new Queue('executions', { connection: client, prefix: config.QUEUE_PREFIX });
}, 60_000);

afterAll(async () => {
  for (const worker of workers) await stopSandqProcess(worker, 'SIGKILL');
  await queue?.close();
  client?.disconnect();
  await api?.stop();
  await redis?.destroy();
});

async function submitBatch(items: Record<string, unknown>[]): Promise<string[]> {
  const res = await postJson(baseUrl, '/v1/executions/batch', { executions: items });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { id: string }[] }).items.map((item) => item.id);
}

async function read(id: string): Promise<ExecutionJson> {
  return (await (await fetch(`${baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
}

const isFinal = (status: string) => status !== 'queued' && status !== 'running';

/** The jobs a worker process holds right now. */
async function activeOn(worker: Worker): Promise<string[]> {
  const active = await queue.getJobs(['active']);
  return active.filter((job) => job.processedBy === worker.proc.workerId).map((job) => String(job.id));
}

describe('a worker killed with SIGKILL in the middle of jobs', () => {
  it('loses none: every job completes on the other worker', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const ids = await submitBatch(Array.from({ length: 30 }, (_, i) => ({ language: 'bash', code: `sleep 0.4; echo job-${i}` })));

    const held = await eventually(async () => {
      const mine = await activeOn(a);
      return mine.length > 0 ? mine : undefined;
    }, 20_000, 'worker A to hold a job');
    const killedAt = Date.now();
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;

    const finals = await eventually(async () => {
      const all = await Promise.all(ids.map(read));
      return all.every((ex) => isFinal(ex.status)) ? all : undefined;
    }, 60_000, 'every job to finish');
    const recoveredAt = Math.max(...(await Promise.all(held.map(async (id) => Date.parse((await read(id)).finishedAt!)))));
    const leftovers = processesInUidRange(a.uidBase, UID_COUNT);

    const completed = finals.filter((ex) => ex.status === 'succeeded' && ex.result?.stdout === `job-${ids.indexOf(ex.id)}\n`).length;
    console.log(
      `[fault] kill -9 a worker: jobs=${ids.length} completed=${completed} lost=${ids.length - completed} ` +
        `held-by-killed-worker=${held.length} recovery=${recoveredAt - killedAt} ms (kill to the last of its jobs finished elsewhere) ` +
        `sandbox-processes-left=${leftovers.length}`,
    );
    expect(completed).toBe(ids.length);
    for (const id of held) {
      const ex = finals.find((f) => f.id === id)!;
      // Started on A, then again on B.
      expect(ex.attempts, id).toBeGreaterThanOrEqual(2);
      expect(Date.parse(ex.finishedAt!)).toBeGreaterThan(killedAt);
    }
    // bwrap dies with its parent, and the sandbox with it.
    expect(leftovers).toEqual([]);
    // Taken again once the test's short JOB_LOCK_MS lapsed: sooner than the default lock would allow.
    expect(recoveredAt - killedAt).toBeLessThan(loadConfig({}).JOB_LOCK_MS);

    const stopped = await stopSandqProcess(b.proc);
    expect(stopped.code).toBe(0);
  }, 90_000);
});

describe('a worker stopped with SIGTERM', () => {
  it('lets a job finish within the grace, hands back one that does not, and leaves nothing running', async () => {
    const graceMs = 1500;
    const worker = await startWorker({ SHUTDOWN_GRACE_MS: String(graceMs) });
    const [quick, slow] = await submitBatch([
      { language: 'bash', code: 'sleep 0.8; echo quick' },
      { language: 'bash', code: 'sleep 5; echo slow' },
    ]);
    await eventually(async () => (await activeOn(worker)).length === 2, 20_000, 'both jobs to run on the worker');

    const stop = stopSandqProcess(worker.proc);
    const { code, ms } = await stop;
    const leftovers = processesInUidRange(worker.uidBase, UID_COUNT);
    const quickAfter = await read(quick!);
    const slowJob = await queue.getJob(slow!);
    const slowState = await queue.getJobState(slow!);

    const successorGraceMs = 20_000;
    const successor = await startWorker({ SHUTDOWN_GRACE_MS: String(successorGraceMs) });
    const slowFinal = await eventually(async () => {
      const ex = await read(slow!);
      return isFinal(ex.status) ? ex : undefined;
    }, 30_000, 'the handed-back job to finish on another worker');
    console.log(
      `[fault] SIGTERM with SHUTDOWN_GRACE_MS=1500: exit=${code} after ${ms} ms; job within the grace: ${quickAfter.status}; ` +
        `job past the grace: handed back as ${slowState} (attempts started ${slowJob?.attemptsStarted}, failed attempts ${slowJob?.attemptsMade}), ` +
        `then ${slowFinal.status} on the next worker (attempts ${slowFinal.attempts}); sandbox-processes-left=${leftovers.length}`,
    );

    expect(code).toBe(0);
    // The grace, then the hand-back, then closing: within the grace plus the 10 s fallback.
    expect(ms).toBeLessThan(graceMs + 10_000);
    expect(ms).toBeGreaterThanOrEqual(graceMs - 100);
    expect(quickAfter).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(quickAfter.result?.stdout).toBe('quick\n');
    // Neither completed nor failed by the stopping worker: back in the queue, no attempt used up.
    expect(['waiting', 'prioritized']).toContain(slowState);
    expect(slowJob?.attemptsMade).toBe(0);
    expect(slowJob?.failedReason ?? '').toBe('');
    expect(worker.proc.output()).toContain('execution handed back to the queue');
    expect(leftovers).toEqual([]);
    expect(slowFinal.status).toBe('succeeded');
    expect(slowFinal.result?.stdout).toBe('slow\n');

    const idle = await stopSandqProcess(successor.proc);
    console.log(`[fault] SIGTERM on an idle worker: exit=${idle.code} after ${idle.ms} ms`);
    expect(idle.code).toBe(0);
    // Nothing to wait for: it does not sit out its grace.
    expect(idle.ms).toBeLessThan(successorGraceMs);
  }, 90_000);
});
