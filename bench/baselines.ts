import { spawn } from 'node:child_process';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { percentile, timed } from './stats.js';

/** The plainest bubblewrap sandbox that runs python3: what one cold spawn costs on this machine. */
const RAW_BWRAP = [
  '--unshare-all', '--die-with-parent', '--new-session',
  '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin',
  '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
  '/usr/bin/python3', '-c', 'pass',
];

function rawSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bwrap', RAW_BWRAP, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bwrap exited ${code}`))));
  });
}

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
    for (let i = 0; i < count; i++) {
      samples.push(await timed(async () => (await queue.add('noop', {}, { removeOnComplete: true })).waitUntilFinished(events, 10_000)));
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
