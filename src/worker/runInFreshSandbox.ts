import type { Program, RunOptions, RunOutcome, Sandbox } from './sandbox/SandboxProvider.js';
import type { SandboxPool } from './sandbox/SandboxPool.js';
import { SandboxLostError } from './sandbox/SandboxLostError.js';
import { workerMetrics } from './workerMetrics.js';

/** How many sandboxes a program may go through when each is lost before it starts. */
const MAX_SANDBOXES = 3;

/**
 * Runs a program in a sandbox of its own. A warm sandbox can die just as it
 * is claimed; the program then never started, so it is run again in another
 * one instead of failing the job. The caller owns (and releases) the
 * sandbox it gets back.
 */
export async function runInFreshSandbox(pool: SandboxPool, program: Program, options: RunOptions): Promise<{ sandbox: Sandbox; run: RunOutcome }> {
  for (let attempt = 1; ; attempt++) {
    // A compiled language's first step is its compile: the sandbox is claimed with the compile's limits.
    const sandbox = await pool.acquire(program.runtime, program.compile?.limits ?? options.limits);
    try {
      return { sandbox, run: await sandbox.run(program, options) };
    } catch (error) {
      pool.release(sandbox);
      if (!(error instanceof SandboxLostError)) throw error;
      workerMetrics.sandboxesLost.inc({ runtime: program.runtime });
      if (attempt >= MAX_SANDBOXES) throw error;
    }
  }
}
