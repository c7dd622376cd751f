import { CommandExitError, type CommandHandle, type Sandbox } from 'e2b';
import { SandboxLostError } from '../SandboxLostError.js';
import type { OutputStream, RunOptions, RunOutcome } from '../SandboxProvider.js';
import { RunWatch } from '../common/RunWatch.js';
import { describeError } from './classifyE2BError.js';
import { exitStatusOf } from './exitStatus.js';

export interface CommandRunOptions extends RunOptions {
  cwd: string;
  requestTimeoutMs: number;
}

/** How long a stopped program's stream may take to end before it is let go (the sandbox is killed next anyway). */
const STOP_GRACE_MS = 5000;
/** The SDK's own deadline on the stream, a backstop well behind the job's timeout. */
const STREAM_SLACK_MS = 30_000;

/**
 * Runs `command` in the sandbox and follows it as the local provider does
 * (RunWatch): output is kept up to the cap and passed on as it arrives; the
 * timeout, the output cap and the abort signal kill it, and the outcome says which.
 * A program that could not be started throws SandboxLostError (nothing ran:
 * another sandbox may take it); a sandbox that vanishes while the program
 * runs throws a plain error, a fault of the service that BullMQ retries.
 */
export async function runCommand(sandbox: Sandbox, command: string, options: CommandRunOptions): Promise<RunOutcome> {
  const { limits } = options;
  let handle: CommandHandle | undefined;
  let letGo: () => void = () => {};
  const abandoned = new Promise<'abandoned'>((resolve) => (letGo = () => resolve('abandoned')));
  let graceTimer: NodeJS.Timeout | undefined;
  const killAndLetGo = (running: CommandHandle) => {
    running.kill().catch(() => {});
    graceTimer = setTimeout(letGo, STOP_GRACE_MS);
  };
  const watch = new RunWatch(
    { timeoutMs: limits.timeoutMs, maxOutputBytes: limits.maxOutputBytes, signal: options.signal, onOutput: options.onOutput, outputEncoding: options.outputEncoding },
    () => {
      if (handle) killAndLetGo(handle);
    },
  );
  if (options.signal?.aborted) {
    watch.stop('cancelled');
    return watch.outcome();
  }
  const take = (stream: OutputStream) => (text: string) => watch.take(stream, Buffer.from(text));

  try {
    handle = await sandbox.commands.run(command, {
      background: true,
      cwd: options.cwd,
      onStdout: take('stdout'),
      onStderr: take('stderr'),
      timeoutMs: limits.timeoutMs + STREAM_SLACK_MS,
      requestTimeoutMs: options.requestTimeoutMs,
    });
  } catch (error) {
    throw new SandboxLostError(`the program could not be started in the E2B sandbox: ${describeError(error)}`);
  }
  // Output that came before the handle may already have stopped it.
  if (watch.stoppedBy) killAndLetGo(handle);
  // The job's clock starts with the program.
  watch.start();

  const ended = handle.wait().then(
    (result) => ({ exitCode: result.exitCode, error: result.error }),
    (error: unknown) => {
      if (error instanceof CommandExitError) return { exitCode: error.exitCode, error: error.error };
      throw error;
    },
  );
  try {
    const end = await Promise.race([ended, abandoned]);
    // When sandq stops the program, the outcome says why; its exit status is the kill's.
    if (watch.stoppedBy) return watch.outcome();
    if (end === 'abandoned') throw new Error('unreachable: only a stopped program is let go');
    return watch.outcome(exitStatusOf(end.exitCode, end.error));
  } catch (error) {
    if (watch.stoppedBy) return watch.outcome();
    throw new Error(`the E2B sandbox was lost while the program ran: ${describeError(error)}`, { cause: error });
  } finally {
    watch.dispose();
    clearTimeout(graceTimer);
    ended.catch(() => {});
    if (watch.stoppedBy) await handle.disconnect().catch(() => {});
  }
}
