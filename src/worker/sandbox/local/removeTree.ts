import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Removes a tree a program may have built: node's rm, and where that gives
 * up (a tree nested deeper than PATH_MAX, ENAMETOOLONG) GNU rm, which walks
 * by descriptor. Neither follows a link; rm is told not to cross a mount.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await rm(target, { recursive: true, force: true });
  } catch {
    await run('rm', ['-rf', '--one-file-system', '--', target]);
  }
}
