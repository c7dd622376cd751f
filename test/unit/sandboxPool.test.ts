import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { poolMetrics } from '../../src/worker/sandbox/poolMetrics.js';
import { SandboxPool } from '../../src/worker/sandbox/SandboxPool.js';
import { MemorySandboxProvider, type MemorySandbox } from '../fakes/MemorySandboxProvider.js';
import { eventually } from '../helpers/eventually.js';

const limits = { timeoutMs: 5000, cpuTimeMs: 5000, memoryMb: 64, maxProcesses: 16, maxOutputBytes: 1024, maxOpenFiles: 64, maxFileBytes: 1024, network: false };
const program = { runtime: 'bash' as const, entryFile: 'main.sh', command: ['bash', 'main.sh'], source: '', stdin: '', env: {}, files: [] };

async function metric(m: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((n, v) => n + v.value, 0);
}

const labels = { provider: 'memory', runtime: 'bash' };
const warmNow = () => metric(poolMetrics.warm, labels);

let pool: SandboxPool | undefined;
afterEach(async () => {
  await pool?.drain();
  pool = undefined;
});

function startPool(provider: MemorySandboxProvider): SandboxPool {
  pool = new SandboxPool(provider, { size: 1, runtimes: ['bash'], maxIdleMs: 60_000, healthIntervalMs: 60_000, logger: createLogger('silent') });
  return pool;
}

describe('SandboxPool', () => {
  it('hands the warm sandbox to the first job, and starts one for the next instead of waiting, counting a miss', async () => {
    const provider = new MemorySandboxProvider();
    const pool = startPool(provider);
    await eventually(async () => (await warmNow()) === 1, 5000, 'the pool to fill');
    const hits = await metric(poolMetrics.hits, labels);
    const misses = await metric(poolMetrics.misses, labels);

    const [a, b] = (await Promise.all([pool.acquire('bash', limits), pool.acquire('bash', limits)])) as MemorySandbox[];
    expect([a!.warm, b!.warm]).toEqual([true, false]);
    expect(await metric(poolMetrics.hits, labels)).toBe(hits + 1);
    expect(await metric(poolMetrics.misses, labels)).toBe(misses + 1);
    expect((await a!.run({ ...program, args: ['a'] }, { limits })).stdout).toBe('a\n');
    expect((await b!.run({ ...program, args: ['b'] }, { limits })).stdout).toBe('b\n');
  });

  it('refills after a job takes its warm sandbox, and the gauge says so', async () => {
    const provider = new MemorySandboxProvider();
    const pool = startPool(provider);
    await eventually(async () => (await warmNow()) === 1, 5000, 'the pool to fill');
    const taken = await pool.acquire('bash', limits);
    expect(await warmNow()).toBe(0);
    pool.release(taken);
    await eventually(async () => (await warmNow()) === 1, 5000, 'the pool to refill');
    expect(provider.made.filter((s) => s.warm)).toHaveLength(2);
  });

  it('drops a warm sandbox that dies while idle and starts its replacement', async () => {
    const provider = new MemorySandboxProvider();
    startPool(provider);
    await eventually(async () => (await warmNow()) === 1, 5000, 'the pool to fill');
    const died = await metric(poolMetrics.discarded, { ...labels, reason: 'died idle' });
    provider.made[0]!.die();
    expect(await metric(poolMetrics.discarded, { ...labels, reason: 'died idle' })).toBe(died + 1);
    await eventually(async () => provider.made.length === 2 && (await warmNow()) === 1, 5000, 'a replacement');
    expect(provider.made[0]!.destroyed).toBe(true);
  });

  it('destroys every idle sandbox when drained', async () => {
    const provider = new MemorySandboxProvider();
    const started = startPool(provider);
    await eventually(async () => (await warmNow()) === 1, 5000, 'the pool to fill');
    await started.drain();
    expect(await warmNow()).toBe(0);
    expect(provider.made.every((s) => s.destroyed)).toBe(true);
  });
});
