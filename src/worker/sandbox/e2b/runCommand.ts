import { CommandExitError, type CommandHandle, type Sandbox } from 'e2b';
import { outputCollectors } from '../OutputCollector.js';
import { SandboxLostError } from '../SandboxLostError.js';
import type { OutputStream, RunOptions, RunOutcome } from '../SandboxProvider.js';
import { assembleOutcome, type ProgramEnd, type StopReason } from '../common/runOutcome.js';
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
 * Runs `command` in the sandbox and follows it as the local provider does:
 * output is kept up to the cap and passed on as it arrives; the timeout,
 * the output cap and the abort signal kill it, and the outcome says which.
 * A program that could not be started throws SandboxLostError (nothing ran:
 * another sandbox may take it); a sandbox that vanishes while the program
 * runs throws a plain error, a fault of the service that BullMQ retries.
 */
export async function runCommand(sandbox: Sandbox, command: string, options: CommandRunOptions): Promise<RunOutcome> {
  const { limits, signal, onOutput } = options;
  const collectors = outputCollectors(limits.maxOutputBytes);
  const outcome = (end: ProgramEnd, durationMs: number): RunOutcome => assembleOutcome({ end, output: collectors, durationMs });
  if (signal?.aborted) return outcome({ stoppedBy: 'cancelled' }, 0);

  let handle: CommandHandle | undefined;
  let stopped: StopReason | undefined;
  let letGo: () => void = () => {};
  const abandoned = new Promise<'abandoned'>((resolve) => (letGo = () => resolve('abandoned')));
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason) => {
    if (stopped) return;
    stopped = reason;
    handle?.kill().catch(() => {});
    graceTimer = setTimeout(letGo, STOP_GRACE_MS);
  };
  const take = (stream: OutputStream) => (text: string) => {
    const kept = collectors[stream].push(Buffer.from(text));
    if (kept.length > 0) onOutput?.(stream, kept);
    if (collectors[stream].truncated) stop('output_exceeded');
  };

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
  // The job's clock starts with the program.
  const started = performance.now();
  if (stopped) handle.kill().catch(() => {});
  const timer = setTimeout(() => stop('timed_out'), limits.timeoutMs);
  const onAbort = () => stop('cancelled');
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const ended = handle.wait().then(
    (result) => ({ exitCode: result.exitCode, error: result.error }),
    (error: unknown) => {
      if (error instanceof CommandExitError) return { exitCode: error.exitCode, error: error.error };
      throw error;
    },
  );
  try {
    const end = await Promise.race([ended, abandoned]);
    const durationMs = Math.round(performance.now() - started);
    // When sandq stops the program, the outcome says why; its exit status is the kill's.
    if (stopped) return outcome({ stoppedBy: stopped }, durationMs);
    if (end === 'abandoned') throw new Error('unreachable: only a stopped program is let go');
    return outcome({ exited: exitStatusOf(end.exitCode, end.error) }, durationMs);
  } catch (error) {
    if (stopped) return outcome({ stoppedBy: stopped }, Math.round(performance.now() - started));
    throw new Error(`the E2B sandbox was lost while the program ran: ${describeError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    signal?.removeEventListener('abort', onAbort);
    ended.catch(() => {});
    if (stopped) await handle.disconnect().catch(() => {});
  }
}
