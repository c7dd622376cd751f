import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/worker/sandbox/SandboxProvider.js';
import { poolMetrics } from '../../src/worker/sandbox/poolMetrics.js';
import { ensureWorkRootTmpfs } from '../../src/worker/sandbox/local/workDirMount.js';
import { runExecution, startTestService, type TestService } from '../helpers/service.js';
import { eventually } from '../helpers/eventually.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';
import { workerDirectoriesOf } from '../helpers/workDirs.js';

let svc: TestService;
const RUNTIMES: Runtime[] = ['python', 'node', 'bash'];

async function counter(metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((n, v) => n + v.value, 0);
}

/** Waits until the pool is full again (it refills in the background), as its warm-sandbox gauge reports. */
async function poolFull(): Promise<void> {
  const full = async () => {
    for (const runtime of RUNTIMES) if ((await counter(poolMetrics.warm, { provider: 'local', runtime })) < svc.config.POOL_SIZE) return false;
    return true;
  };
  await eventually(full, 10_000, 'the pool to refill');
}

/** Every process below `root` in the process tree. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-eo', 'pid=,ppid=']).toString().trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    children.set(ppid!, [...(children.get(ppid!) ?? []), pid!]);
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** Host processes running as one of the sandbox uids. */
function sandboxProcesses(): { pid: number; uid: number; comm: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,uid=,comm=']).toString().trim().split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, uid, comm]) => ({ pid: Number(pid), uid: Number(uid), comm: comm ?? '' }))
    .filter(({ uid }) => uid >= svc.config.SANDBOX_UID_BASE && uid < svc.config.SANDBOX_UID_BASE + svc.config.SANDBOX_UID_COUNT);
}

/** This worker's idle interpreters, once there is one per runtime (or the deadline passed). */
async function waitForIdleInterpreters(): Promise<{ pid: number }[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ours = descendantsOf(process.pid);
    const found = sandboxProcesses().filter((p) => ours.includes(p.pid) && /^(python3|node|bash)$/.test(p.comm));
    if (found.length >= RUNTIMES.length || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  svc = await startTestService({ POOL_SIZE: '1', WORKER_CONCURRENCY: '1' });
  await poolFull();
});
afterAll(async () => {
  await svc?.stop();
});

describe('warm sandbox pool', () => {
  it('hands a job a warm sandbox and starts another', async () => {
    const hits = await counter(poolMetrics.hits, { runtime: 'python' });
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'import sys; print(sys.argv, __name__)', args: ['x'] });
    expect(ex.result?.stdout).toBe("['main.py', 'x'] __main__\n");
    expect(await counter(poolMetrics.hits, { runtime: 'python' })).toBe(hits + 1);
    await poolFull();
  });

  it('never shares a sandbox: nothing of one job is seen by the next', async () => {
    await runExecution(svc.baseUrl, { language: 'bash', code: 'echo one > /work/left.txt; echo one > /tmp/left.txt; export LEAK=1; (sleep 30 &)' });
    await poolFull();
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'ls -A /work; ls -A /tmp; echo "leak=${LEAK:-none}"; pgrep -c sleep || true' });
    expect(ex.result?.stdout).toBe('main.sh\nleak=none\n0\n');
  });

  it("applies the job's memory and process limits exactly to a warm sandbox", async () => {
    await poolFull();
    const hits = await counter(poolMetrics.hits, { runtime: 'python' });
    const allocate = 'x = bytearray(100 * 1024 * 1024)\nx[::4096] = b"1" * len(x[::4096])\nprint("allocated")';
    const small = await runExecution(svc.baseUrl, { language: 'python', code: allocate, limits: { memoryMb: 64 } });
    expect(small.status).toBe('memory_exceeded');
    await poolFull();
    const large = await runExecution(svc.baseUrl, { language: 'python', code: allocate, limits: { memoryMb: 256 } });
    expect(large.result?.stdout).toBe('allocated\n');
    await poolFull();
    const forks = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import os\nn = 0\ntry:\n    for _ in range(50):\n        if os.fork() == 0:\n            import time; time.sleep(2); os._exit(0)\n        n += 1\nexcept BlockingIOError:\n    pass\nprint(n)',
      limits: { maxProcesses: 10 },
    });
    expect(Number(forks.result?.stdout)).toBeLessThan(10);
    // All three ran in warm sandboxes.
    expect(await counter(poolMetrics.hits, { runtime: 'python' })).toBe(hits + 3);
  });

  it('never hands a job a sandbox that died while idle', async () => {
    await poolFull();
    const died = await counter(poolMetrics.discarded, { reason: 'died idle' });
    // Every sandbox of this worker (this process) is now an idle warm one: kill each waiting interpreter.
    // A sandbox counts as warm once bwrap runs; its interpreter may still be on its way in (exec).
    const victims = await waitForIdleInterpreters();
    expect(victims.length).toBeGreaterThanOrEqual(RUNTIMES.length);
    for (const { pid } of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone with its sandbox
      }
    }
    const results = await Promise.all(
      (['python', 'javascript', 'bash'] as const).map((language) =>
        runExecution(svc.baseUrl, { language, code: language === 'bash' ? 'echo ok' : language === 'python' ? 'print("ok")' : 'console.log("ok")' }),
      ),
    );
    for (const ex of results) {
      expect(ex.status).toBe('succeeded');
      expect(ex.result?.stdout).toBe('ok\n');
      expect(ex.attempts).toBe(1);
    }
    // Most are seen dying while idle; one claimed in the same instant is found out before its
    // program starts, and the job moves to another sandbox: attempts stays 1 either way.
    expect(await counter(poolMetrics.discarded, { reason: 'died idle' })).toBeGreaterThan(died);
  });

  it('leaves no process, cgroup or directory behind when the worker stops', async () => {
    await poolFull();
    // This test process is the worker: its sandboxes are its descendants (other test files run their own).
    const ours = descendantsOf(process.pid).filter((pid) => sandboxProcesses().some((p) => p.pid === pid));
    expect(ours.length).toBeGreaterThan(0);
    await svc.service.worker!.close();
    // bwrap exits as soon as its init reports the exit status, so the init itself is
    // reaped by the host's pid 1 a moment later (a zombie until then).
    const alive = () => sandboxProcesses().filter((p) => ours.includes(p.pid));
    const deadline = Date.now() + 20_000;
    while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toEqual([]);
    const cgroups = readdirSync(`${svc.config.SANDBOX_CGROUP_ROOT}/memory/sandq`).filter((name) => name.startsWith(`${process.pid}-`));
    expect(cgroups).toEqual([]);
    expect(workerDirectoriesOf(svc.config.SANDBOX_WORK_ROOT)).toEqual([]);
    const identities = readdirSync(`${svc.config.SANDBOX_WORK_ROOT}/.identities`);
    expect(identities.filter((uid) => execFileSync('cat', [`${svc.config.SANDBOX_WORK_ROOT}/.identities/${uid}`]).toString() === String(process.pid))).toEqual([]);
  });
});

describe('a worker starting after a crash', () => {
  it("removes the work dirs and cgroups a dead worker left, and nobody else's", async () => {
    const { mkdirSync, existsSync, writeFileSync } = await import('node:fs');
    const { LocalSandboxProvider } = await import('../../src/worker/sandbox/local/LocalSandboxProvider.js');
    const { localProviderOptions } = await import('../../src/worker/sandbox/local/localProviderOptions.js');
    const { loadConfig } = await import('../../src/shared/config.js');
    const { createLogger } = await import('../../src/shared/logger.js');
    // A pid no process has: spawn one and let it exit.
    const dead = await new Promise<number>((resolve) => {
      const child = spawn('true');
      child.once('exit', () => resolve(child.pid!));
    });
    const config = loadConfig({ ...isolatedSandbox(100) });
    // Each worker's directory is recorded beside, with its pid: one of a dead worker, one of a live one (pid 1).
    const records = `${config.SANDBOX_WORK_ROOT}/.workers`;
    const deadName = `wdead${process.pid}`;
    const liveName = `walive${process.pid}`;
    const deadDir = `${config.SANDBOX_WORK_ROOT}/${deadName}`;
    const liveDir = `${config.SANDBOX_WORK_ROOT}/${liveName}`;
    const deadCgroup = `${config.SANDBOX_CGROUP_ROOT}/memory/sandq/${dead}-1-left`;
    // The work root as an earlier worker left it: a tmpfs, mounted by that worker.
    await ensureWorkRootTmpfs(config.SANDBOX_WORK_ROOT);
    mkdirSync(`${deadDir}/jleft`, { recursive: true });
    mkdirSync(liveDir, { recursive: true });
    mkdirSync(records, { recursive: true });
    writeFileSync(`${records}/${deadName}`, String(dead));
    writeFileSync(`${records}/${liveName}`, '1');
    mkdirSync(deadCgroup, { recursive: true });
    try {
      const provider = await LocalSandboxProvider.start(localProviderOptions(config, createLogger('silent')));
      await provider.close();
      expect(existsSync(deadDir)).toBe(false);
      expect(existsSync(`${records}/${deadName}`)).toBe(false);
      expect(existsSync(deadCgroup)).toBe(false);
      // pid 1 is alive: its dir stays.
      expect(existsSync(liveDir)).toBe(true);
      // and the provider's own went with its close.
      expect(workerDirectoriesOf(config.SANDBOX_WORK_ROOT)).toEqual([]);
    } finally {
      const { rmSync, rmdirSync } = await import('node:fs');
      for (const dir of [liveDir, deadDir, `${records}/${deadName}`, `${records}/${liveName}`]) rmSync(dir, { recursive: true, force: true });
      try {
        rmdirSync(deadCgroup);
      } catch {
        // already removed by the provider
      }
    }
  });
});
