import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { runInFreshSandbox } from '../../src/worker/runInFreshSandbox.js';
import { SandboxPool } from '../../src/worker/sandbox/SandboxPool.js';
import { SandboxLostError } from '../../src/worker/sandbox/SandboxLostError.js';
import type { Program, RunOptions, RunOutcome } from '../../src/worker/sandbox/SandboxProvider.js';
import { MemorySandbox, MemorySandboxProvider } from '../fakes/MemorySandboxProvider.js';
import { eventually } from '../helpers/eventually.js';

const limits = { timeoutMs: 5000, cpuTimeMs: 5000, memoryMb: 64, maxProcesses: 16, maxOutputBytes: 1024, maxOpenFiles: 64, maxFileBytes: 1024, network: false };
const program: Program = { runtime: 'bash', entryFile: 'main.sh', command: ['bash', 'main.sh'], source: '', stdin: '', env: {}, files: [], args: ['ran'] };
const options: RunOptions = { limits };

/** Its sandboxes fail their run with `failure(n)` for the n-th sandbox made (1-based), or run when it returns undefined. */
class FailingProvider extends MemorySandboxProvider {
  constructor(private readonly failure: (n: number) => Error | undefined) {
    super();
  }

  override async create(runtime: 'bash'): Promise<MemorySandbox> {
    const error = this.failure(this.made.length + 1);
    const sandbox = (await super.create(runtime, limits)) as MemorySandbox;
    if (error) {
      sandbox.run = async (_program: Program, _options: RunOptions): Promise<RunOutcome> => {
        throw error;
      };
    }
    return sandbox;
  }
}

let pool: SandboxPool | undefined;
afterEach(async () => {
  await pool?.drain();
  pool = undefined;
});

/** No warm sandboxes: every acquire creates one, so the n-th sandbox is the n-th try. */
function poolOver(provider: MemorySandboxProvider): SandboxPool {
  pool = new SandboxPool(provider, { size: 0, runtimes: ['bash'], maxIdleMs: 60_000, healthIntervalMs: 60_000, logger: createLogger('silent') });
  return pool;
}

describe('runInFreshSandbox', () => {
  it('runs the program again in another sandbox when one is lost before it starts, and destroys the lost one', async () => {
    const provider = new FailingProvider((n) => (n === 1 ? new SandboxLostError('gone while claimed') : undefined));
    const { sandbox, run } = await runInFreshSandbox(poolOver(provider), program, options);
    expect(run.stdout).toBe('ran\n');
    expect(provider.made).toHaveLength(2);
    expect(sandbox).toBe(provider.made[1]);
    await eventually(async () => provider.made[0]!.destroyed, 5000, 'the lost sandbox destroyed');
    expect(provider.made[1]!.destroyed).toBe(false);
  });

  it('gives up after three lost sandboxes, with the loss as the error', async () => {
    const provider = new FailingProvider(() => new SandboxLostError('gone while claimed'));
    await expect(runInFreshSandbox(poolOver(provider), program, options)).rejects.toBeInstanceOf(SandboxLostError);
    expect(provider.made).toHaveLength(3);
    await eventually(async () => provider.made.every((s) => s.destroyed), 5000, 'every lost sandbox destroyed');
  });

  it('never runs a program twice for any other failure: it is thrown at once', async () => {
    const provider = new FailingProvider(() => new Error('the program could not be written'));
    await expect(runInFreshSandbox(poolOver(provider), program, options)).rejects.toThrow('the program could not be written');
    expect(provider.made).toHaveLength(1);
    await eventually(async () => provider.made[0]!.destroyed, 5000, 'the sandbox destroyed');
  });
});
