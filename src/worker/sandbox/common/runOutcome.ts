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
  output: Readonly<Record<OutputStream, OutputCollector>>;
  durationMs: number;
}

/** The run's outcome, as the lifecycle consumes it, from how the program ended and what it wrote. */
export function assembleOutcome(input: OutcomeInput): RunOutcome {
  const { end } = input;
  const { exitCode, signal } = 'stoppedBy' in end ? KILLED : end.exited;
  return {
    termination: 'stoppedBy' in end ? end.stoppedBy : 'exited',
    exitCode,
    signal,
    stdout: input.output.stdout.text(),
    stderr: input.output.stderr.text(),
    stdoutTruncated: input.output.stdout.truncated,
    stderrTruncated: input.output.stderr.truncated,
    durationMs: input.durationMs,
  };
}

/**
 * The outcome of a program the kernel killed for memory (its SIGKILL looks
 * like any other; only the cgroup knows). A timeout or a cancel the worker
 * acted on first stands: the program was being stopped anyway.
 */
export function asMemoryExceeded(outcome: RunOutcome): RunOutcome {
  if (!mayBeMemoryKill(outcome)) return outcome;
  return { ...outcome, ...KILLED, termination: 'memory_exceeded' };
}

/** Whether a run's end could have been the kernel's out-of-memory kill (worth asking the cgroup). */
export function mayBeMemoryKill(outcome: RunOutcome): boolean {
  return outcome.termination === 'exited' || outcome.termination === 'output_exceeded';
}
