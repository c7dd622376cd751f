import os from 'node:os';
import { MAX_BUILT_PROGRAM_BYTES } from '../../program/transpiler.js';

/**
 * Exit status of a launcher that never took its job: its go signal never
 * came (the worker went away), or what it was handed could not be read.
 */
export const LAUNCHER_ABANDONED = 70;

/** What a launcher prints, and exits 1 with, when the TypeScript transpiler's output is over the cap. */
export const TRANSPILED_TOO_LARGE = `the transpiled program is larger than ${MAX_BUILT_PROGRAM_BYTES} bytes`;

/** A shell (and bwrap) reports a child killed by signal N as exit status 128 + N. */
const SIGNAL_EXIT_BASE = 128;
const MAX_SIGNAL = 64;

/** The exit status a death by signal `number` is reported as. */
export function exitCodeOfSignal(number: number): number {
  return SIGNAL_EXIT_BASE + number;
}

/** The signal's name an exit status above 128 stands for, or null for an ordinary exit. */
export function signalOfExitCode(code: number): string | null {
  if (code <= SIGNAL_EXIT_BASE || code > SIGNAL_EXIT_BASE + MAX_SIGNAL) return null;
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === code - SIGNAL_EXIT_BASE);
  return entry ? entry[0] : null;
}
