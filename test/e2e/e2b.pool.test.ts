import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceWorker } from '../../src/shared/workerRegistry.js';
import { poolMetrics } from '../../src/worker/sandbox/poolMetrics.js';
import { FakeE2B } from '../fakes/FakeE2B.js';
import { startE2BTestService } from '../helpers/e2bService.js';
import { eventually } from '../helpers/eventually.js';
import { runExecution, type TestService } from '../helpers/service.js';

// The e2b pool, the plan's limits and the leak sweep, against a fake E2B whose plan allows
// two sandboxes at once (a 429 beyond them) — the same cap the worker is given.
const CAP = 2;
const RATE = 5;
const IDLE_TIMEOUT_MS = 1500;
const DEPLOYMENT = 'pool-test';
let fake: FakeE2B;
let svc: TestService;

beforeAll(async () => {
  fake = await FakeE2B.start({ maxConcurrentSandboxes: CAP });
  svc = await startE2BTestService(fake, {
    SANDBOX_PROVIDER: 'e2b',
    E2B_POOL_SIZE: '1',
    POOL_RUNTIMES: 'python',
    POOL_HEALTH_INTERVAL_MS: '200',
    E2B_SANDBOX_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    E2B_MAX_CONCURRENT_SANDBOXES: String(CAP),
    E2B_CREATE_RATE_PER_SECOND: String(RATE),
    E2B_SWEEP_INTERVAL_MS: '250',
    // The sweep leaves sandboxes younger than twice this alone.
    E2B_REQUEST_TIMEOUT_MS: '5000',
    DEPLOYMENT_NAME: DEPLOYMENT,
    WORKER_CONCURRENCY: '3',
  });
});
afterAll(async () => {
  await svc?.stop();
  await fake?.close();
});

const workerId = () => svc.service.worker!.workerId;
const ours = () => fake.live().filter((s) => s.metadata['sandq-worker'] === workerId());
/** Warm python sandboxes in the e2b pool, as its gauge reports them. */
async function warmPython(): Promise<number> {
  const { values } = await poolMetrics.warm.get();
  return values.filter((v) => v.labels.provider === 'e2b' && v.labels.runtime === 'python').reduce((n, v) => n + v.value, 0);
}
const warmOne = () => eventually(async () => (await warmPython()) === 1 && ours()[0], 10_000, 'a warm sandbox');

async function hits(): Promise<number> {
  const { values } = await poolMetrics.hits.get();
  return values.filter((v) => v.labels.provider === 'e2b').reduce((n, v) => n + v.value, 0);
}

describe('warm E2B sandboxes', () => {
  it('are created with the deployment and the worker in their metadata, and kept alive past their E2B timeout', async () => {
    const warm = await warmOne();
    expect(warm.metadata).toEqual({ 'sandq-deployment': DEPLOYMENT, 'sandq-worker': workerId() });
    // Without renewals E2B (the fake) ends it IDLE_TIMEOUT_MS after its start.
    await eventually(async () => (fake.timeoutCalls.get(warm.id) ?? 0) >= 3, 10_000, 'three renewals');
    expect(Date.now() - warm.startedAt).toBeGreaterThan(IDLE_TIMEOUT_MS);
    expect(fake.live().map((s) => s.id)).toContain(warm.id);
  });

  it('hand a job the warm sandbox, and the pool fills again', async () => {
    const warm = await warmOne();
    const before = await hits();
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print("warm")' });
    expect(ex.result?.stdout).toBe('warm\n');
    expect(await hits()).toBe(before + 1);
    // Used once, then killed; another takes its place.
    await eventually(async () => fake.kills.some((k) => k.id === warm.id), 10_000, 'the used sandbox to be killed');
    const next = await warmOne();
    expect(next.id).not.toBe(warm.id);
  });

  it('never fail a job when E2B ended the warm sandbox while it waited', async () => {
    const warm = await warmOne();
    await fake.expire(warm.id);
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print("fresh")' });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('fresh\n');
    expect(ex.attempts).toBe(1);
  });
});

describe("the plan's limits", () => {
  it('keep jobs waiting for a slot (a warm sandbox gives up its own) instead of meeting a 429', async () => {
    await warmOne();
    // Slow creations overlap (a creation outlasts the gap between two): slots count them too.
    fake.createDelays = Array.from({ length: 8 }, () => 300);
    const jobs = Array.from({ length: 6 }, (_, i) => runExecution(svc.baseUrl, { language: i % 2 ? 'bash' : 'python', code: i % 2 ? 'sleep 0.3; echo ok' : 'import time; time.sleep(0.3); print("ok")' }));
    for (const ex of await Promise.all(jobs)) {
      expect(ex.status).toBe('succeeded');
      expect(ex.result?.stdout).toBe('ok\n');
      expect(ex.attempts).toBe(1);
    }
    expect(fake.creates.filter((c) => c.status === 429)).toEqual([]);
    expect(fake.maxLiveSandboxes).toBeLessThanOrEqual(CAP);
    expect(fake.maxConcurrentCreates).toBeLessThanOrEqual(CAP);
    expect(fake.maxLiveOrCreating).toBeLessThanOrEqual(CAP);
    fake.createDelays = [];
  });

  it('space creations at the configured rate', async () => {
    const arrivals = fake.creates.map((c) => c.at).sort((a, b) => a - b);
    expect(arrivals.length).toBeGreaterThanOrEqual(8);
    // 1/RATE apart at the worker; generous room for the arrival times' jitter.
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000 / RATE / 2);
    for (const start of arrivals) expect(arrivals.filter((at) => at >= start && at < start + 1000).length).toBeLessThanOrEqual(RATE + 1);
  });
});

describe('leaks', () => {
  it('the sweep kills sandboxes of workers that are gone, and nothing else', async () => {
    const redis = new Redis(svc.redis.url);
    const seeded: string[] = [];
    try {
      const longAgo = Date.now() - 10 * 60_000;
      // A live worker elsewhere in the deployment, announced as workers announce themselves.
      await announceWorker(redis, svc.config.QUEUE_PREFIX, { id: 'alive-elsewhere', host: 'h', provider: 'e2b', languages: [], startedAt: new Date().toISOString(), warnings: [] });
      const orphan = await fake.seed({ 'sandq-deployment': DEPLOYMENT, 'sandq-worker': 'crashed-worker' }, longAgo);
      const alive = await fake.seed({ 'sandq-deployment': DEPLOYMENT, 'sandq-worker': 'alive-elsewhere' }, longAgo);
      const otherDeployment = await fake.seed({ 'sandq-deployment': 'someone-else', 'sandq-worker': 'crashed-worker' }, longAgo);
      const justStarted = await fake.seed({ 'sandq-deployment': DEPLOYMENT, 'sandq-worker': 'not-announced-yet' });
      seeded.push(alive, otherDeployment, justStarted);
      await eventually(async () => fake.kills.some((k) => k.id === orphan), 10_000, 'the orphan to be killed');
      const live = fake.live().map((s) => s.id);
      expect(live).toContain(alive);
      expect(live).toContain(otherDeployment);
      expect(live).toContain(justStarted);
    } finally {
      redis.disconnect();
      // What the sweep rightly left alone still counts against the plan's CAP: end it, or the pool cannot warm again.
      for (const id of seeded) await fake.expire(id);
    }
  });

  it("shutdown kills this worker's sandboxes, warm ones included", async () => {
    await warmOne();
    expect(ours().length).toBeGreaterThanOrEqual(1);
    const id = workerId();
    await svc.service.worker!.close();
    expect(fake.live().filter((s) => s.metadata['sandq-worker'] === id)).toEqual([]);
    expect(fake.all().filter((s) => s.metadata['sandq-worker'] === id).length).toBeGreaterThanOrEqual(2);
  });
});
