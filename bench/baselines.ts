import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { LanguageDefinition } from '../src/shared/languages/languageDefinition.js';
import { BASE_ENV, SANDBOX_WORK_DIR } from '../src/worker/sandbox/local/bwrapArguments.js';
import { percentile, timed } from './stats.js';

/** The plainest bubblewrap sandbox that runs python3: what one cold spawn costs on this machine. */
const RAW_BWRAP = [
  '--unshare-all', '--die-with-parent', '--new-session',
  '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin',
  '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
  '/usr/bin/python3', '-c', 'pass',
];

function run(argv: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

const rawSpawn = () => run(['bwrap', ...RAW_BWRAP]);

/** p50 of `count` cold `bwrap … python3 -c pass`, one after another. */
export async function coldSpawnLatency(count: number): Promise<{ p50: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await timed(rawSpawn));
  return { p50: percentile(samples, 50), samples };
}

/** Spawns per second with `loops` loops spawning back to back for `seconds`. */
export async function rawSpawnRate(loops: number, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < deadline) {
        await rawSpawn();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** p50 of a BullMQ add → completed round trip with a processor that does nothing. */
export async function bullmqRoundTrip(redisUrl: string, count: number): Promise<number> {
  const connection = () => new Redis(redisUrl, { maxRetriesPerRequest: null });
  const [q, w, e] = [connection(), connection(), connection()];
  const queue = new Queue('bench-noop', { connection: q, prefix: 'bench' });
  const worker = new Worker('bench-noop', async () => 'ok', { connection: w, prefix: 'bench' });
  const events = new QueueEvents('bench-noop', { connection: e, prefix: 'bench' });
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);
  const samples: number[] = [];
  try {
    // Completed jobs stay until the obliterate below: one removed as it completes can be
    // gone before waitUntilFinished looks for it, which then fails with "Missing key".
    for (let i = 0; i < count; i++) {
      samples.push(await timed(async () => (await queue.add('noop', {})).waitUntilFinished(events, 10_000)));
    }
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    for (const c of [q, w, e]) c.disconnect();
  }
  return percentile(samples, 50);
}

/** One host compile + run, in ms: the whole and the compile's part of it. */
export interface HostCompileAndRun {
  total: number;
  compile: number;
}

/**
 * The same toolchain's compile + run of `source` on the host, outside any
 * sandbox: the definition's own `compile` argv, then its `run` argv, in a
 * fresh temp dir, with the environment a sandbox starts from (PATH, HOME, TMPDIR, LANG) and
 * the definition's `env`. Paths the definition puts under the sandbox's /tmp
 * or /work point into that temp dir, so each sample starts as empty as a
 * job's sandbox does: Go's GOCACHE is under /tmp there, a fresh tmpfs per
 * job, so here too every sample builds with a fresh, empty GOCACHE, the same work.
 */
export async function hostCompileAndRun(language: LanguageDefinition, source: string): Promise<HostCompileAndRun> {
  if (!language.compile) throw new Error(`${language.name} has no compile step`);
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${language.name}-`));
  try {
    const [workDir, tmpDir] = [path.join(dir, 'work'), path.join(dir, 'tmp')];
    for (const d of [workDir, tmpDir]) mkdirSync(d);
    const onHost = (value: string) => value.replace(/^\/tmp(?=\/|$)/, tmpDir).replace(new RegExp(`^${SANDBOX_WORK_DIR}(?=/|$)`), workDir);
    const env = Object.fromEntries(Object.entries({ ...BASE_ENV, ...language.env }).map(([key, value]) => [key, onHost(value)]));
    writeFileSync(path.join(workDir, language.sourceFile), source);
    const compile = await timed(() => run(language.compile!, { cwd: workDir, env }));
    const runMs = await timed(() => run(language.run, { cwd: workDir, env }));
    return { total: compile + runMs, compile };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
