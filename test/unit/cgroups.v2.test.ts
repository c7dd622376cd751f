import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CgroupHierarchy } from '../../src/worker/sandbox/local/cgroups/CgroupHierarchy.js';
import { detectCgroups, type CgroupDetection } from '../../src/worker/sandbox/local/cgroups/detectCgroups.js';
import type { JobCgroup } from '../../src/worker/sandbox/local/cgroups/JobCgroup.js';
import { joinCgroup } from '../helpers/joinCgroup.js';

/*
 * cgroup v2 is not mounted on the machine these tests were written on, so this
 * file checks the v2 code path's file operations against a plain directory
 * tree laid out like the unified hierarchy. The tree only holds files the
 * kernel itself would create; where a test plays the kernel's part (listing a
 * member in cgroup.procs, dropping it once it exited, creating interface files
 * in a new cgroup) it says so. What a temp tree cannot show — that the kernel
 * enforces the values — is covered for v1 by cgroups.v1.test.ts.
 */

const MiB = 1024 * 1024;
const OWN = '/system.slice/sandq-worker.service';
const PROC_SELF_CGROUP = `0::${OWN}\n`;
const LIMITS = { memoryBytes: 64 * MiB, maxProcesses: 10, cpus: 1.5 };

let root: string;
let own: string;
const trees: string[] = [];
const children: ChildProcess[] = [];

/** The unified hierarchy as a systemd host shows it to a worker running as a service. */
async function buildTree(options: { controllers?: string; procs?: string } = {}): Promise<void> {
  root = await mkdtemp(path.join(os.tmpdir(), 'sandq-cgroup-v2-'));
  trees.push(root);
  own = path.join(root, OWN);
  await writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  await writeFile(path.join(root, 'cgroup.subtree_control'), 'cpuset cpu io memory pids\n');
  await mkdir(own, { recursive: true });
  await writeFile(path.join(own, 'cgroup.controllers'), options.controllers ?? 'cpuset cpu io memory pids\n');
  await writeFile(path.join(own, 'cgroup.subtree_control'), '');
  await writeFile(path.join(own, 'cgroup.procs'), options.procs ?? '4242\n4243\n');
}

async function read(...segments: string[]): Promise<string> {
  return await readFile(path.join(...segments), 'utf8');
}

async function open(procSelfCgroup = PROC_SELF_CGROUP): Promise<CgroupHierarchy> {
  const detection = await detectCgroups({ root, procSelfCgroup });
  if (!detection.available) throw new Error(`expected cgroups, got: ${detection.reason}`);
  return detection.hierarchy;
}

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Plays the kernel's part: once the process has exited, cgroup.procs stops listing it. */
function dropFromProcsOnExit(child: ChildProcess, job: JobCgroup): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    child.once('exit', (_code, signal) => {
      void writeFile(path.join(job.directories[0]!, 'cgroup.procs'), '').then(() => resolve(signal));
    });
  });
}

beforeEach(async () => {
  await buildTree();
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const tree of trees.splice(0)) await rm(tree, { recursive: true, force: true });
});

describe('cgroup v2 setup', () => {
  it('moves the worker out of its cgroup into a supervisor leaf, then enables memory, pids and cpu for children', async () => {
    const hierarchy = await open();

    expect(hierarchy.version).toBe(2);
    expect(hierarchy.controllers).toEqual(['memory', 'pids', 'cpu']);
    expect(hierarchy.describe()).toBe(`cgroup v2 (memory, pids, cpu) under ${own}/sandq`);
    // One pid per write, as the kernel takes them.
    expect(await read(own, 'supervisor', 'cgroup.procs')).toBe('4242\n4243\n');
    expect(await read(own, 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read(own, 'sandq', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect((await readdir(own)).sort()).toEqual(['cgroup.controllers', 'cgroup.procs', 'cgroup.subtree_control', 'sandq', 'supervisor']);
  });

  it('needs no supervisor leaf when its cgroup has no processes of its own', async () => {
    await buildTree({ procs: '' });
    await open();

    expect(await readdir(own)).not.toContain('supervisor');
    expect(await read(own, 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
  });

  it('at the root of the mount (a cgroup namespace\'s root, or the real root) moves nobody unless the kernel says EBUSY', async () => {
    // As a container with --cgroupns=private sees its cgroup: nothing enabled yet, the worker in it.
    await writeFile(path.join(root, 'cgroup.subtree_control'), '');
    await writeFile(path.join(root, 'cgroup.procs'), '4242\n');
    const hierarchy = await open('0::/\n');

    expect(hierarchy.describe()).toBe(`cgroup v2 (memory, pids, cpu) under ${root}/sandq`);
    // The real root is exempt from "no internal processes"; a namespace root is not, and there the kernel's EBUSY
    // triggers the move, which a temp tree cannot produce.
    expect(await readdir(root)).not.toContain('supervisor');
    expect(await read(root, 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read(root, 'sandq', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
  });

  it('enables only what the parent delegates, and goes without cpu', async () => {
    await buildTree({ controllers: 'memory pids\n' });
    const hierarchy = await open();

    expect(hierarchy.controllers).toEqual(['memory', 'pids']);
    expect(await read(own, 'cgroup.subtree_control')).toBe('+memory +pids');
    const job = await hierarchy.createJob('ex_1', LIMITS);
    expect((await readdir(job.directories[0]!)).sort()).toEqual(['memory.max', 'pids.max']);
  });

  it('a worker restarted inside the supervisor leaf reuses the same group instead of nesting deeper', async () => {
    await open();
    // The kernel would now list the worker in supervisor/; a new worker started from there sees this.
    const hierarchy = await open(`0::${OWN}/supervisor\n`);

    expect(hierarchy.describe()).toBe(`cgroup v2 (memory, pids, cpu) under ${own}/sandq`);
    expect(await readdir(path.join(own, 'supervisor'))).toEqual(['cgroup.procs']);
  });

  it('leaves subtree_control alone when the controllers are already enabled', async () => {
    await open();
    await writeFile(path.join(own, 'cgroup.subtree_control'), 'cpu memory pids\n');
    await writeFile(path.join(own, 'supervisor', 'cgroup.procs'), '');
    await open();

    expect(await read(own, 'cgroup.subtree_control')).toBe('cpu memory pids\n');
    expect(await read(own, 'supervisor', 'cgroup.procs')).toBe('');
  });
});

describe('cgroup v2 jobs', () => {
  it('writes memory.max, memory.swap.max, pids.max and cpu.max, and nothing else', async () => {
    const hierarchy = await open();
    // Plays the kernel: with swap accounting, every child of a memory-enabled cgroup has memory.swap.max.
    await writeFile(path.join(own, 'sandq', 'memory.swap.max'), 'max\n');

    const job = await hierarchy.createJob('ex_1', LIMITS);

    const dir = path.join(own, 'sandq', 'ex_1');
    expect(job.directories).toEqual([dir]);
    expect((await readdir(dir)).sort()).toEqual(['cpu.max', 'cpu.weight', 'memory.max', 'memory.swap.max', 'pids.max']);
    expect(await read(dir, 'cpu.weight')).toBe('100');
    expect(await read(dir, 'memory.max')).toBe(String(64 * MiB));
    expect(await read(dir, 'memory.swap.max')).toBe('0');
    expect(await read(dir, 'pids.max')).toBe('10');
    expect(await read(dir, 'cpu.max')).toBe('150000 100000');
  });

  it('setLimits rewrites the limits of a job in use, and refuses memory below memory.current', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const dir = job.directories[0]!;
    // Plays the kernel: what the members use now.
    await writeFile(path.join(dir, 'memory.current'), String(20 * MiB));

    await job.setLimits({ memoryBytes: 32 * MiB, maxProcesses: 5, cpus: 0.5 });
    expect(await read(dir, 'memory.max')).toBe(String(32 * MiB));
    expect(await read(dir, 'pids.max')).toBe('5');
    expect(await read(dir, 'cpu.max')).toBe('50000 100000');
    // v2 would reclaim and then OOM-kill rather than refuse: setLimits refuses first.
    await expect(job.setLimits({ memoryBytes: 16 * MiB, maxProcesses: 5, cpus: 0.5 })).rejects.toThrow(/more than the new limit/);
    expect(await read(dir, 'memory.max')).toBe(String(32 * MiB));
    // Page cache of files read (a compiler's) can be reclaimed and does not count; tmpfs pages (shmem) do.
    await writeFile(path.join(dir, 'memory.stat'), `anon ${4 * MiB}\nfile ${14 * MiB}\nshmem ${2 * MiB}\n`);
    await job.setLimits({ memoryBytes: 16 * MiB, maxProcesses: 5, cpus: 0.5 });
    expect(await read(dir, 'memory.max')).toBe(String(16 * MiB));
    await writeFile(path.join(dir, 'memory.stat'), `anon ${4 * MiB}\nfile ${14 * MiB}\nshmem ${12 * MiB}\n`);
    await expect(job.setLimits({ memoryBytes: 16 * MiB, maxProcesses: 5, cpus: 0.5 })).rejects.toThrow(/more than the new limit/);
  });

  it('does not invent memory.swap.max where the kernel has no swap accounting', async () => {
    const hierarchy = await open();
    const job = await hierarchy.createJob('ex_1', LIMITS);

    expect(await readdir(job.directories[0]!)).not.toContain('memory.swap.max');
  });

  it('a sandbox joins through the job\'s cgroup.procs', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const child = sleeper();
    joinCgroup(job, child.pid!);

    expect(await read(job.directories[0]!, 'cgroup.procs')).toBe(String(child.pid));
    const exited = dropFromProcsOnExit(child, job);
    await job.killAll();
    expect(await exited).toBe('SIGKILL');
  });

  it('killAll writes 1 to cgroup.kill and waits until cgroup.procs is empty', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const dir = job.directories[0]!;
    await writeFile(path.join(dir, 'cgroup.kill'), ''); // Plays the kernel (5.14+): every non-root cgroup has it.
    const child = sleeper();
    joinCgroup(job, child.pid!);
    const exited = dropFromProcsOnExit(child, job);

    await job.killAll();

    expect(await read(dir, 'cgroup.kill')).toBe('1');
    // The kernel's kill is not played here: the SIGKILL came from the loop that follows, which waits for an empty cgroup.procs.
    expect(await exited).toBe('SIGKILL');
    expect(await read(dir, 'cgroup.procs')).toBe('');
    // pids.max is only lowered on kernels without cgroup.kill.
    expect(await read(dir, 'pids.max')).toBe('10');
  });

  it('without cgroup.kill (kernel < 5.14) killAll stops forks with pids.max = 0 and SIGKILLs each member', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const dir = job.directories[0]!;
    const child = sleeper();
    joinCgroup(job, child.pid!);
    const exited = dropFromProcsOnExit(child, job);

    await job.killAll();

    expect(await readdir(dir)).not.toContain('cgroup.kill');
    expect(await read(dir, 'pids.max')).toBe('0');
    expect(await exited).toBe('SIGKILL');
  });

  it('oomKills reads oom_kill from memory.events; memoryPeakBytes reads memory.peak; cpuUsageMicros reads cpu.stat', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const dir = job.directories[0]!;

    // Before kernel 5.19 there is no memory.peak.
    expect(job.memoryPeakBytes()).toBeNull();
    await writeFile(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n');
    expect(job.oomKills()).toBe(0);
    // Hitting memory.max and reclaiming is not an OOM kill.
    await writeFile(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 37\noom 0\noom_kill 0\noom_group_kill 0\n');
    expect(job.oomKills()).toBe(0);
    await writeFile(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 412\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(job.oomKills()).toBe(2);
    await writeFile(path.join(dir, 'memory.peak'), `${63 * MiB}\n`);
    expect(job.memoryPeakBytes()).toBe(63 * MiB);
    // The peak cannot be restarted for a later reader (memory.peak resets per open file).
    expect(job.resetMemoryPeak()).toBe(false);
    expect(job.cpuUsageMicros()).toBeNull();
    await writeFile(path.join(dir, 'cpu.stat'), 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n');
    expect(job.cpuUsageMicros()).toBe(1_234_567);
  });

  it('destroy kills, then rmdirs the job directory; again is a no-op', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    const dir = job.directories[0]!;
    await writeFile(path.join(dir, 'cgroup.kill'), '');

    // A cgroup's interface files vanish with rmdir; a temp dir's real files do not, so the first rmdir fails here.
    await expect(job.destroy()).rejects.toMatchObject({ code: 'ENOTEMPTY', syscall: 'rmdir', path: dir });
    expect(await read(dir, 'cgroup.kill')).toBe('1');

    // Plays the kernel's part of rmdir; the next destroy finishes the job.
    for (const file of await readdir(dir)) await unlink(path.join(dir, file));
    await job.destroy();
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await job.destroy();
  });

  it('destroy of a cgroup that is already gone does not throw', async () => {
    const job = await (await open()).createJob('ex_1', LIMITS);
    for (const file of await readdir(job.directories[0]!)) await unlink(path.join(job.directories[0]!, file));
    await rmdir(job.directories[0]!);

    await job.destroy();
  });

  it('removeStale removes every job cgroup a crashed worker left', async () => {
    await open();
    const group = path.join(own, 'sandq');
    // Left by a crashed worker (as bare directories: a temp tree cannot hold the kernel's interface files).
    await mkdir(path.join(group, 'ex_a'));
    await mkdir(path.join(group, 'ex_b'));

    const hierarchy = await open();
    expect(await hierarchy.removeStale(() => true)).toBe(2);
    expect(await readdir(group)).toEqual(['cgroup.subtree_control']);
    expect(await hierarchy.removeStale(() => true)).toBe(0);
  });

  it('refuses job names that are not one plain path segment, and limits the kernel would misread', async () => {
    const hierarchy = await open();
    for (const name of ['', '..', '../escape', 'a/b', '.hidden']) {
      await expect(hierarchy.createJob(name, LIMITS)).rejects.toThrow(RangeError);
    }
    await expect(hierarchy.createJob('ex_1', { ...LIMITS, memoryBytes: 1.5 })).rejects.toThrow(/memoryBytes/);
    await expect(hierarchy.createJob('ex_1', { ...LIMITS, maxProcesses: 0 })).rejects.toThrow(/maxProcesses/);
    await expect(hierarchy.createJob('ex_1', { ...LIMITS, cpus: 0.001 })).rejects.toThrow(/cpus/);
    expect(await readdir(path.join(own, 'sandq'))).toEqual(['cgroup.subtree_control']);
  });
});

describe('cgroup detection without a usable v2 hierarchy', () => {
  it('reports no hierarchy at a missing root, naming the fix', async () => {
    const detection = await detectCgroups({ root: path.join(root, 'missing'), mountInfo: '', procSelfCgroup: PROC_SELF_CGROUP });

    expect(detection).toMatchObject({ available: false, version: null });
    expect(reasonOf(detection)).toMatch(/no cgroup hierarchy is mounted at .*missing.*Run the worker as root/);
  });

  it('reports undelegated controllers', async () => {
    await buildTree({ controllers: 'cpu io\n' });
    const detection = await detectCgroups({ root, procSelfCgroup: PROC_SELF_CGROUP });

    expect(detection).toMatchObject({ available: false, version: 2 });
    expect(reasonOf(detection)).toMatch(/memory and pids controller is not delegated.*Delegate=yes/);
  });

  it('reports a cgroup that is not visible under the mount, or no cgroup v2 line at all', async () => {
    const hidden = await detectCgroups({ root, procSelfCgroup: '0::/docker/0123abcd\n' });
    expect(hidden).toMatchObject({ available: false, version: 2 });
    expect(reasonOf(hidden)).toMatch(/not visible.*--cgroupns=private/);

    const outside = await detectCgroups({ root, procSelfCgroup: '0::/../../user.slice\n' });
    expect(reasonOf(outside)).toMatch(/outside its cgroup namespace/);

    const noLine = await detectCgroups({ root, procSelfCgroup: '1:name=systemd:/\n' });
    expect(reasonOf(noLine)).toMatch(/no "0::" line/);
  });

  it('reports a tree the worker may not write, and changes nothing', async () => {
    const detection = await detectAsUnprivileged();

    expect(detection).toMatchObject({ available: false, version: 2 });
    expect(reasonOf(detection)).toMatch(/EACCES.*Run the worker as root, or give it a delegated, writable cgroup/);
    expect((await readdir(own)).sort()).toEqual(['cgroup.controllers', 'cgroup.procs', 'cgroup.subtree_control']);
    expect(await read(own, 'cgroup.subtree_control')).toBe('');
  });
});

function reasonOf(detection: CgroupDetection): string {
  if (detection.available) throw new Error('expected cgroups to be unavailable');
  return detection.reason;
}

/** As root, runs the detection in a child process as nobody, which is what an undelegated worker is. */
async function detectAsUnprivileged(): Promise<CgroupDetection> {
  if (process.getuid?.() !== 0) return await detectCgroups({ root, procSelfCgroup: PROC_SELF_CGROUP });

  for (let dir = own; dir.startsWith(root); dir = path.dirname(dir)) await chmod(dir, 0o755);
  const module = fileURLToPath(new URL('../../src/worker/sandbox/local/cgroups/detectCgroups.ts', import.meta.url));
  const script = path.join(root, 'detect.mts');
  await writeFile(
    script,
    `import { detectCgroups } from ${JSON.stringify(module)};\n` +
      `console.log(JSON.stringify(await detectCgroups({ root: ${JSON.stringify(root)}, procSelfCgroup: ${JSON.stringify(PROC_SELF_CGROUP)} })));\n`,
  );
  // tsx's own scratch files go to a TMPDIR inside the tree, which afterEach removes.
  const tmp = path.join(root, 'tmp');
  await mkdir(tmp, { mode: 0o777 });
  await chmod(tmp, 0o777);
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [tsx, script], {
    uid: 65534,
    gid: 65534,
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp, TSX_DISABLE_CACHE: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await unlink(script);
  if (code !== 0) throw new Error(`detection as nobody failed (${code}): ${stderr}`);
  return JSON.parse(stdout) as CgroupDetection;
}
