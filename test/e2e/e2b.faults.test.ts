import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeE2B } from '../fakes/FakeE2B.js';
import { startE2BTestService } from '../helpers/e2bService.js';
import { eventually } from '../helpers/eventually.js';
import { runExecution, type TestService } from '../helpers/service.js';

// E2B misbehaving, injected in the fake: what is retried, what fails fast, and what is cleaned up.
let fake: FakeE2B;
let svc: TestService;

beforeAll(async () => {
  fake = await FakeE2B.start();
  svc = await startE2BTestService(fake, {
    SANDBOX_PROVIDER: 'e2b',
    // A creation slower than this is given up on (and retried).
    E2B_REQUEST_TIMEOUT_MS: '1000',
    E2B_SWEEP_INTERVAL_MS: '250',
    WORKER_CONCURRENCY: '2',
  });
});
afterAll(async () => {
  await svc?.stop();
  await fake?.close();
});

const ours = () => fake.live().filter((s) => s.metadata['sandq-worker'] === svc.service.worker!.workerId);

async function readyz(): Promise<{ warnings: string[] }> {
  return (await (await fetch(`${svc.baseUrl}/readyz`)).json()) as { warnings: string[] };
}

describe('creation faults are retried inside the provider', () => {
  it('goes through a 429, a 500 and a 503, and the job runs once', async () => {
    const before = fake.creates.length;
    fake.failCreates = [429, 500, 503];
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print("made it")' });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('made it\n');
    expect(ex.attempts).toBe(1);
    expect(fake.creates.slice(before).map((c) => c.status)).toEqual([429, 500, 503, 201]);
  });

  it('gives up on a slow creation, retries, and sweeps the sandbox E2B made anyway', async () => {
    const before = fake.creates.length;
    fake.createDelays = [2500];
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo after a slow start' });
    expect(ex.status).toBe('succeeded');
    expect(ex.attempts).toBe(1);
    // The slow one is answered after the worker stopped waiting; E2B made it all the same.
    const slow = await eventually(async () => fake.creates.slice(before).find((c) => c.answeredAt - c.at >= 2000), 10_000, 'the slow creation to be answered');
    expect(slow.status).toBe(201);
    // Nobody holds it: the worker's own sweep kills it once it is older than the grace period.
    await eventually(async () => fake.kills.some((k) => k.id === slow.id && k.by === 'api'), 15_000, 'the stray sandbox to be killed');
    await eventually(async () => ours().length === 0, 10_000, 'no sandbox of this worker to be left');
  });
});

describe('a sandbox that vanishes while the program runs', () => {
  it('fails the attempt in the service, and the retry runs the program again', async () => {
    fake.vanishNextRun = { afterMs: 300 };
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'import time\nprint("start", flush=True)\ntime.sleep(1)\nprint("end")' });
    expect(fake.kills.some((k) => k.by === 'vanish')).toBe(true);
    expect(ex.status).toBe('succeeded');
    expect(ex.attempts).toBe(2);
    expect(ex.result?.stdout).toBe('start\nend\n');
  });
});

describe('a rejected API key', () => {
  it('fails the execution with provider_auth at once, shows in /readyz, and clears when E2B accepts the key again', async () => {
    const creations = () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/sandboxes')).length;
    const before = creations();
    fake.rejectAuth = true;
    try {
      const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print("never")' });
      expect(ex.status).toBe('error');
      expect(ex.error?.code).toBe('provider_auth');
      expect(ex.error?.message).toContain('E2B_API_KEY');
      expect(ex.result).toBeNull();
      // No retry storm: one creation attempt, one job attempt.
      expect(ex.attempts).toBe(1);
      expect(creations() - before).toBe(1);
      const warned = await eventually(async () => (await readyz()).warnings.find((w) => w.includes('E2B rejected the API key')), 10_000, '/readyz to warn');
      expect(warned).toContain(svc.service.worker!.workerId);
    } finally {
      fake.rejectAuth = false;
    }
    const ok = await runExecution(svc.baseUrl, { language: 'python', code: 'print("back")' });
    expect(ok.status).toBe('succeeded');
    await eventually(async () => !(await readyz()).warnings.some((w) => w.includes('E2B')), 15_000, 'the warning to clear');
  });
});
