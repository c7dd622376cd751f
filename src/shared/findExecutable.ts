import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { MissingPrerequisiteError } from './errors/MissingPrerequisiteError.js';

/** Looks a program up on PATH (or takes an explicit path); undefined when absent. */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    if (whyNotExecutable(candidate) === undefined) return candidate;
  }
  return undefined;
}

/** Why the file at `file` cannot be run, in words that finish "the file …"; undefined when it can. */
export function whyNotExecutable(file: string): string | undefined {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return 'does not exist';
  }
  if (!stats.isFile()) return 'is not a regular file';
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'is not executable';
  }
  return undefined;
}

export interface ProgramSetting {
  /** The variable that may name the program, e.g. BWRAP_PATH. */
  variable: string;
  /** Its value: a path, taken as it is, or a name looked up on PATH; unset looks `program` up on PATH. */
  value: string | undefined;
  /** The program's usual name, e.g. bwrap. */
  program: string;
  /** How to install it (or do without it): the end of every message. */
  installHint: string;
}

/**
 * The program to run, or an error that says what is wrong: the file a variable
 * names (missing, not a file, not executable) — never "not on PATH" for a
 * path — or, when nothing names it, that it is not installed and how to install it.
 */
export function locateProgram({ variable, value, program, installHint }: ProgramSetting): string {
  if (value?.includes('/')) {
    const problem = whyNotExecutable(value);
    if (problem) {
      throw new Error(`${variable} names ${value}, which ${problem}. Point ${variable} at a ${program} program (\`command -v ${program}\` shows where yours is), or unset it to look ${program} up on PATH. ${installHint}`);
    }
    return value;
  }
  const found = findExecutable(value ?? program);
  if (found) return found;
  if (value) throw new Error(`${variable} names ${value}, which was not found on PATH. Give its full path, or unset ${variable}. ${installHint}`);
  throw new MissingPrerequisiteError(program, installHint);
}
