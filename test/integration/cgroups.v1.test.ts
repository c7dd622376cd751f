import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CgroupHierarchy } from '../../src/worker/sandbox/local/cgroups/CgroupHierarchy.js';
import { detectCgroups, type CgroupDetection } from '../../src/worker/sandbox/local/cgroups/detectCgroups.js';
import type { JobCgroup } from '../../src/worker/sandbox/local/cgroups/JobCgroup.js';
import { joinCgroup } from '../helpers/joinCgroup.js';

const MiB = 1024 * 1024;
const ROOT = '/sys/fs/cgroup';
const CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'];
/** Per test file and run, so parallel files and earlier crashed runs never collide. */
const GROUP = `sandq-test-${process.pid}`;
const LIMITS = { memoryBytes: 64 * MiB, maxProcesses: 10, cpus: 0.5 };

const V1_AS_ROOT =
  process.getuid?.() === 0 && existsSync(path.join(ROOT, 'memory', 'cgroup.procs')) && !existsSync(path.join(ROOT, 'cgroup.controllers'));

interface Started {
  child: ChildProcessWithoutNullStreams;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp): Promise<string>;
  /** Lets the script past its `input()`: it runs only once it is in the job's cgroup. */
  go(): void;
}

const started: Started[] = [];

/** A python3 script that waits on stdin before doing anything, so its pid can join a cgroup first. */
function python(script: string): Started {
  const child = spawn('/usr/bin/python3', ['-c', `input()\n${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const handle: Started = {
    child,
    exit,
    output: () => stdout + stderr,
    async line(pattern) {
      for (let waited = 0; waited < 10_000; waited += 20) {
        const match = stdout.split('\n').find((line) => pattern.test(line));
        if (match !== undefined) return match;
        await sleep(20);
      }
      throw new Error(`no line matching ${pattern} in: ${stdout}${stderr}`);
    },
    go: () => child.stdin.write('go\n'),
  };
  started.push(handle);
  return handle;
}

function dirOf(job: JobCgroup, controller: string): string {
  const dir = job.directories.find((candidate) => candidate.startsWith(path.join(ROOT, controller) + '/'));
  if (!dir) throw new Error(`job has no ${controller} directory`);
  return dir;
}

async function read(dir: string, file: string): Promise<string> {
  return (await readFile(path.join(dir, file), 'utf8')).trim();
}

async function members(job: JobCgroup): Promise<string[]> {
  return (await Promise.all(job.directories.map((dir) => read(dir, 'cgroup.procs')))).flatMap((text) => text.split('\n').filter(Boolean));
}

/** Alive = exists and is not a zombie waiting to be reaped. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

/** Field 6 of /proc/<pid>/stat. */
async function sessionOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

describe.skipIf(!V1_AS_ROOT)('cgroup v1 on this host (root)', () => {
  let hierarchy: CgroupHierarchy;

  beforeAll(async () => {
    const detection = await detectCgroups({ groupName: GROUP });
    if (!detection.available) throw new Error(`cgroup v1 expected: ${detection.reason}`);
    hierarchy = detection.hierarchy;
  });

  afterEach(async () => {
    for (const { child } of started.splice(0)) child.kill('SIGKILL');
    await hierarchy.removeStale(() => true);
  });

  afterAll(async () => {
    for (const controller of CONTROLLERS) {
      await rmdir(path.join(ROOT, controller, GROUP)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  });

  it('finds memory, pids, cpu and cpuacct from mountinfo and makes the group in each', async () => {
    expect(hierarchy.version).toBe(1);
    expect(hierarchy.controllers).toEqual(CONTROLLERS);
    expect(hierarchy.describe()).toBe(`cgroup v1 (memory, pids, cpu, cpuacct) under ${ROOT}/*/${GROUP}`);
    for (const controller of CONTROLLERS) expect(existsSync(path.join(ROOT, controller, GROUP, 'cgroup.procs'))).toBe(true);
  });

  it('applies the limits: memory (and memory+swap), swappiness, pids, cfs quota', async () => {
    const job = await hierarchy.createJob('limits', LIMITS);

    expect(job.directories).toEqual(CONTROLLERS.map((controller) => path.join(ROOT, controller, GROUP, 'limits')));
    const memory = dirOf(job, 'memory');
    expect(await read(memory, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    if (existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) {
      expect(await read(memory, 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    }
    expect(await read(memory, 'memory.swappiness')).toBe('0');
    expect(await read(dirOf(job, 'pids'), 'pids.max')).toBe('10');
    expect(await read(dirOf(job, 'cpu'), 'cpu.cfs_period_us')).toBe('100000');
    expect(await read(dirOf(job, 'cpu'), 'cpu.cfs_quota_us')).toBe('50000');
    await job.destroy();
  });

  it('setLimits lowers and raises the limits of a cgroup in use, and refuses memory below its use', async () => {
    const job = await hierarchy.createJob('relimit', { memoryBytes: 256 * MiB, maxProcesses: 64, cpus: 1 });
    const program = python('data = b"x" * (40 << 20)\nprint("holding", flush=True)\ninput()');
    joinCgroup(job, program.child.pid!);
    program.go();
    await program.line(/^holding$/);
    const memory = dirOf(job, 'memory');

    await job.setLimits({ memoryBytes: 128 * MiB, maxProcesses: 8, cpus: 0.5 });
    expect(await read(memory, 'memory.limit_in_bytes')).toBe(String(128 * MiB));
    expect(await read(dirOf(job, 'pids'), 'pids.max')).toBe('8');
    expect(await read(dirOf(job, 'cpu'), 'cpu.cfs_quota_us')).toBe('50000');
    // Raising needs memsw first (it may never be below the RAM limit).
    await job.setLimits({ memoryBytes: 512 * MiB, maxProcesses: 8, cpus: 0.5 });
    expect(await read(memory, 'memory.limit_in_bytes')).toBe(String(512 * MiB));
    // 40 MB are in use: the kernel refuses 16 MB rather than reclaim into an OOM kill.
    await expect(job.setLimits({ memoryBytes: 16 * MiB, maxProcesses: 8, cpus: 0.5 })).rejects.toThrow();
    expect(await read(memory, 'memory.limit_in_bytes')).toBe(String(512 * MiB));
    program.child.kill('SIGKILL');
    await job.destroy();
  });

  it('a process that outgrows the memory limit is OOM-killed, and oomKills() counts it', async () => {
    const job = await hierarchy.createJob('oom', LIMITS);
    // 200 MB in 10 MB chunks of real (touched) memory against a 64 MB limit.
    const program = python('chunks = []\nfor _ in range(20):\n    chunks.append(b"x" * (10 << 20))\nprint("survived", flush=True)');
    joinCgroup(job, program.child.pid!);
    expect(job.oomKills()).toBe(0);
    program.go();

    expect(await program.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(program.output()).not.toContain('survived');
    expect(job.oomKills()).toBeGreaterThan(0);
    const peak = job.memoryPeakBytes();
    expect(peak).toBeGreaterThan(32 * MiB);
    expect(peak).toBeLessThanOrEqual(64 * MiB);
    await job.destroy();
  });

  it('counts the CPU time of all members (cpuacct), and restarts the memory peak from the current use', async () => {
    const job = await hierarchy.createJob('usage', { memoryBytes: 256 * MiB, maxProcesses: 10, cpus: 1 });
    expect(job.cpuUsageMicros()).toBe(0);
    // Two processes, 0.2 s of CPU each by their own clocks, then 40 MB held and let go.
    const spin = 'import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.2:\n    pass\n';
    const programs = [python(spin), python(`${spin}data = b"x" * (40 << 20)\ndel data\nprint("done", flush=True)\ninput()`)];
    for (const program of programs) joinCgroup(job, program.child.pid!);
    for (const program of programs) program.go();
    await programs[0]!.exit;
    await programs[1]!.line(/^done$/);
    expect(job.cpuUsageMicros()).toBeGreaterThanOrEqual(400_000);
    expect(job.memoryPeakBytes()).toBeGreaterThanOrEqual(40 * MiB);
    expect(job.resetMemoryPeak()).toBe(true);
    expect(job.memoryPeakBytes()).toBeLessThan(40 * MiB);
    programs[1]!.child.kill('SIGKILL');
    await job.destroy();
  });

  it('a process within the memory limit runs to the end and oomKills() stays 0', async () => {
    const job = await hierarchy.createJob('fits', LIMITS);
    const program = python('data = b"x" * (20 << 20)\nprint("done", flush=True)');
    joinCgroup(job, program.child.pid!);
    program.go();

    expect(await program.exit).toEqual({ code: 0, signal: null });
    expect(program.output()).toContain('done');
    expect(job.oomKills()).toBe(0);
    expect(job.memoryPeakBytes()).toBeGreaterThanOrEqual(20 * MiB);
    await job.destroy();
  });

  it('pids.max stops a fork bomb: fork fails with EAGAIN once the job has 10 tasks', async () => {
    const job = await hierarchy.createJob('pids', LIMITS);
    const program = python(
      [
        'import errno, os, time',
        'forked = 0',
        'for _ in range(50):',
        '    try:',
        '        pid = os.fork()',
        '    except OSError as error:',
        '        print("forked", forked, "then", errno.errorcode[error.errno], type(error).__name__, flush=True)',
        '        break',
        '    if pid == 0:',
        '        time.sleep(60)',
        '        os._exit(0)',
        '    forked += 1',
        'else:',
        '    print("forked", forked, "then nothing", flush=True)',
        'time.sleep(60)',
      ].join('\n'),
    );
    joinCgroup(job, program.child.pid!);
    program.go();

    // The script itself is the tenth task.
    expect(await program.line(/^forked/)).toBe('forked 9 then EAGAIN BlockingIOError');
    expect(await read(dirOf(job, 'pids'), 'pids.current')).toBe('10');
    await job.destroy();
    expect(await program.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('the cfs quota throttles a busy loop to its share of one CPU', async () => {
    const job = await hierarchy.createJob('cpu', { ...LIMITS, cpus: 0.1 });
    const program = python(
      'import os, time\nstart = time.monotonic()\nwhile time.monotonic() - start < 1.0:\n    pass\nt = os.times()\nprint("cpu", t.user + t.system, flush=True)',
    );
    joinCgroup(job, program.child.pid!);
    program.go();

    const cpuSeconds = Number((await program.line(/^cpu /)).split(' ')[1]);
    // ~0.1 s of CPU in ~1 s of wall time (a period of slack); unthrottled it would be ~1 s.
    expect(cpuSeconds).toBeLessThan(0.4);
    expect(Number(/nr_throttled (\d+)/.exec(await read(dirOf(job, 'cpu'), 'cpu.stat'))?.[1])).toBeGreaterThan(0);
    await job.destroy();
  });

  it('killAll kills the whole tree, a double-forked setsid daemon included, and leaves the job empty', async () => {
    const job = await hierarchy.createJob('tree', LIMITS);
    const program = python(
      [
        'import os, time',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() != 0:',
        '        os._exit(0)',
        '    time.sleep(0.1)',
        '    print("daemon", os.getpid(), os.getsid(0), os.getppid(), flush=True)',
        '    time.sleep(60)',
        '    os._exit(0)',
        'os.wait()',
        'time.sleep(60)',
      ].join('\n'),
    );
    joinCgroup(job, program.child.pid!);
    program.go();
    const [, daemonPid, daemonSession, daemonParent] = (await program.line(/^daemon /)).split(' ').map(Number);
    // Another session, and no longer a descendant of the script: out of reach of a process-group or parent-based kill.
    expect(daemonSession).not.toBe(await sessionOf(program.child.pid!));
    expect(daemonParent).not.toBe(program.child.pid);
    expect((await members(job)).filter((pid) => pid === String(daemonPid))).toHaveLength(CONTROLLERS.length);

    await job.killAll();

    expect(await program.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await isAlive(daemonPid!)).toBe(false);
    expect(await members(job)).toEqual([]);
    await job.destroy();
  });

  it('destroy kills what is left and removes the job directory in every controller; again is a no-op', async () => {
    const job = await hierarchy.createJob('destroy', LIMITS);
    const program = python('import time\ntime.sleep(60)');
    joinCgroup(job, program.child.pid!);
    program.go();

    await job.destroy();

    expect(await program.exit).toEqual({ code: null, signal: 'SIGKILL' });
    for (const dir of job.directories) expect(existsSync(dir)).toBe(false);
    await job.destroy();
  });

  it('removeStale kills and removes the job cgroups a crashed worker left', async () => {
    const left = await hierarchy.createJob('stale-a', LIMITS);
    await hierarchy.createJob('stale-b', LIMITS);
    const program = python('import time\ntime.sleep(60)');
    joinCgroup(left, program.child.pid!);
    program.go();

    // A new worker: nothing but the group's name in common with the one that "crashed".
    const restarted = await detectCgroups({ groupName: GROUP });
    if (!restarted.available) throw new Error(restarted.reason);
    expect(await restarted.hierarchy.removeStale(() => true)).toBe(2);

    expect(await program.exit).toEqual({ code: null, signal: 'SIGKILL' });
    for (const controller of CONTROLLERS) expect(await readdir(path.join(ROOT, controller, GROUP), { withFileTypes: true }).then((entries) => entries.filter((entry) => entry.isDirectory()))).toEqual([]);
  });

  it('createJob replaces a leftover cgroup of the same name, so counters start from zero', async () => {
    const first = await hierarchy.createJob('again', LIMITS);
    const program = python('chunks = []\nfor _ in range(20):\n    chunks.append(b"x" * (10 << 20))');
    joinCgroup(first, program.child.pid!);
    program.go();
    await program.exit;
    expect(first.oomKills()).toBeGreaterThan(0);

    const second = await hierarchy.createJob('again', LIMITS);
    expect(second.oomKills()).toBe(0);
    await second.destroy();
  });
});

/*
 * Detection from mountinfo, against a temp tree: where a controller is
 * mounted is read, not guessed; what is missing or read-only is reported.
 */
describe('cgroup v1 detection from mountinfo', () => {
  let root: string;

  function mountInfo(mounts: [string, string, string?][]): string {
    return mounts
      .map(([dir, options, mountOptions = 'rw,nosuid,nodev,noexec,relatime'], index) => `${40 + index} 31 0:${30 + index} / ${path.join(root, dir)} ${mountOptions} shared:${index} - cgroup cgroup ${options}`)
      .concat([`60 31 0:60 / ${path.join(root, 'unified')} rw,nosuid,nodev,noexec,relatime shared:20 - cgroup2 cgroup2 rw,nsdelegate`])
      .join('\n');
  }

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sandq-cgroup-v1-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds cpu co-mounted as cpu,cpuacct and writes the quota there', async () => {
    const detection = await detectCgroups({
      root,
      groupName: 'sandq',
      mountInfo: mountInfo([
        ['memory', 'rw,memory'],
        ['pids', 'rw,pids'],
        ['cpu,cpuacct', 'rw,cpu,cpuacct'],
        ['systemd', 'rw,xattr,name=systemd'],
      ]),
    });
    if (!detection.available) throw new Error(detection.reason);
    expect(detection.hierarchy.controllers).toEqual(['memory', 'pids', 'cpu', 'cpuacct']);

    const job = await detection.hierarchy.createJob('ex_1', { memoryBytes: 64 * MiB, maxProcesses: 10, cpus: 2 });

    expect(job.directories).toEqual(['memory', 'pids', 'cpu,cpuacct'].map((dir) => path.join(root, dir, 'sandq', 'ex_1')));
    expect(await read(path.join(root, 'cpu,cpuacct', 'sandq', 'ex_1'), 'cpu.cfs_quota_us')).toBe('200000');
    expect(await read(path.join(root, 'cpu,cpuacct', 'sandq', 'ex_1'), 'cpu.cfs_period_us')).toBe('100000');
    expect(await read(path.join(root, 'memory', 'sandq', 'ex_1'), 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    // Optional files are only written where the kernel made them; a temp tree has none.
    expect(await readdir(path.join(root, 'memory', 'sandq', 'ex_1'))).toEqual(['memory.limit_in_bytes']);
  });

  it('reports a missing pids controller', async () => {
    const detection = await detectCgroups({ root, mountInfo: mountInfo([['memory', 'rw,memory']]) });
    expect(detection).toMatchObject({ available: false, version: 1 });
    expect(reasonOf(detection)).toMatch(/no pids controller mounted/);
  });

  it('reports read-only mounts, as an unprivileged container sees them, naming the fix', async () => {
    const detection = await detectCgroups({
      root,
      mountInfo: mountInfo([
        ['memory', 'rw,memory', 'ro,nosuid,nodev,noexec,relatime'],
        ['pids', 'rw,pids', 'ro,nosuid,nodev,noexec,relatime'],
      ]),
    });
    expect(detection).toMatchObject({ available: false, version: 1 });
    expect(reasonOf(detection)).toMatch(/read-only.*Run the worker as root/);
  });

  it('reports no hierarchy when nothing is mounted', async () => {
    const detection = await detectCgroups({ root, mountInfo: '' });
    expect(detection).toMatchObject({ available: false, version: null });
  });
});

function reasonOf(detection: CgroupDetection): string {
  if (detection.available) throw new Error('expected cgroups to be unavailable');
  return detection.reason;
}
