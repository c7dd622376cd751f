import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

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
