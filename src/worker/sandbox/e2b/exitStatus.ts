import { exitCodeOfSignal } from '../common/exitStatus.js';
import type { ProgramExit } from '../common/runOutcome.js';

/** Go's names for signals (how envd's `error` spells a death by signal: "signal: killed"), with their numbers on Linux. */
const SIGNALS: Record<string, [name: string, number: number]> = {
  hangup: ['SIGHUP', 1],
  interrupt: ['SIGINT', 2],
  quit: ['SIGQUIT', 3],
  'illegal instruction': ['SIGILL', 4],
  'trace/breakpoint trap': ['SIGTRAP', 5],
  aborted: ['SIGABRT', 6],
  'bus error': ['SIGBUS', 7],
  'floating point exception': ['SIGFPE', 8],
  killed: ['SIGKILL', 9],
  'user defined signal 1': ['SIGUSR1', 10],
  'segmentation fault': ['SIGSEGV', 11],
  'user defined signal 2': ['SIGUSR2', 12],
  'broken pipe': ['SIGPIPE', 13],
  'alarm clock': ['SIGALRM', 14],
  terminated: ['SIGTERM', 15],
  'CPU time limit exceeded': ['SIGXCPU', 24],
  'file size limit exceeded': ['SIGXFSZ', 25],
};

/**
 * The result's exitCode and signal from envd's end event: a death by signal
 * is reported as a shell does, 128 + the signal number, with the signal's
 * name (envd itself says exit code -1 and "signal: killed").
 */
export function exitStatusOf(exitCode: number, error: string | undefined): ProgramExit & { exitCode: number } {
  const match = /^signal: (.+?)(?: \(core dumped\))?$/.exec(error ?? '');
  if (!match) return { exitCode, signal: null };
  const known = SIGNALS[match[1]!];
  if (known) return { exitCode: exitCodeOfSignal(known[1]), signal: known[0] };
  const number = Number(/^signal (\d+)$/.exec(match[1]!)?.[1]);
  if (Number.isInteger(number)) return { exitCode: exitCodeOfSignal(number), signal: `SIG${number}` };
  // A signal envd names but this table does not: its number is unknown, so only the "killed by a signal" base.
  return { exitCode: exitCodeOfSignal(0), signal: match[1]! };
}
