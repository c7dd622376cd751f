import type { OutputEncoding, RunLimit } from '../../../shared/contract/execution.js';
import type { OutputCollector } from '../OutputCollector.js';
import type { OutputStream, RunOutcome, Termination } from '../SandboxProvider.js';

/** Why the worker stopped a program (the timeout, the output cap, an abort). */
export type StopReason = Extract<Termination, 'timed_out' | 'output_exceeded' | 'cancelled'>;

/** How the program's process ended, as its transport saw it. */
export interface ProgramExit {
  exitCode: number | null;
  signal: string | null;
}

/** What a program the worker stopped, or the kernel killed for memory, ended with: the kill. */
const KILLED: ProgramExit = { exitCode: null, signal: 'SIGKILL' };

/** The worker stopped the program (its own exit status is then only the kill's), or it ended by itself. */
export type ProgramEnd = { stoppedBy: StopReason } | { exited: ProgramExit };

export interface OutcomeInput {
  end: ProgramEnd;
  /** For a stop: the limit behind it, when it is not the stop's own (a timeout of CPU time rather than of the wall clock). */
  limit?: RunLimit;
  output: Readonly<Record<OutputStream, OutputCollector>>;
  outputEncoding: OutputEncoding;
  durationMs: number;
}

/** The limit each way of stopping stands for, unless told otherwise. */
const LIMIT_OF_STOP: Record<StopReason, RunLimit | null> = { timed_out: 'timeoutMs', output_exceeded: 'maxOutputBytes', cancelled: null };

/**
 * The run's outcome, as the lifecycle consumes it, from how the program ended
 * and what it wrote. The kernel's rlimit signals are limits too: SIGXCPU
 * (a process's CPU time) is a timeout of CPU time, and SIGXFSZ (a file past
 * the size cap) says which limit the failed program met.
 */
export function assembleOutcome(input: OutcomeInput): RunOutcome {
  const { end } = input;
  const { exitCode, signal } = 'stoppedBy' in end ? KILLED : end.exited;
  const cpuRlimit = !('stoppedBy' in end) && signal === 'SIGXCPU';
  const termination = 'stoppedBy' in end ? end.stoppedBy : cpuRlimit ? 'timed_out' : 'exited';
  const limit = 'stoppedBy' in end ? (input.limit ?? LIMIT_OF_STOP[end.stoppedBy]) : cpuRlimit ? 'cpuTimeMs' : signal === 'SIGXFSZ' ? 'maxFileBytes' : null;
  const stdout = input.output.stdout.encoded(input.outputEncoding);
  const stderr = input.output.stderr.encoded(input.outputEncoding);
  return {
    termination,
    limit,
    exitCode,
    signal,
    stdout: stdout.content,
    stderr: stderr.content,
    stdoutEncoding: stdout.encoding,
    stderrEncoding: stderr.encoding,
    stdoutTruncated: input.output.stdout.truncated,
    stderrTruncated: input.output.stderr.truncated,
    durationMs: input.durationMs,
    // What the sandbox measured, where it can, is added by its provider.
    cpuTimeMs: null,
    memoryPeakBytes: null,
  };
}

/**
 * The outcome of a program the kernel killed for memory (its SIGKILL looks
 * like any other; only the cgroup knows). A timeout or a cancel the worker
 * acted on first stands: the program was being stopped anyway.
 */
export function asMemoryExceeded(outcome: RunOutcome): RunOutcome {
  if (!mayBeMemoryKill(outcome)) return outcome;
  return { ...outcome, ...KILLED, termination: 'memory_exceeded', limit: 'memoryMb' };
}

/** Whether a run's end could have been the kernel's out-of-memory kill (worth asking the cgroup). */
export function mayBeMemoryKill(outcome: RunOutcome): boolean {
  return outcome.termination === 'exited' || outcome.termination === 'output_exceeded';
}
