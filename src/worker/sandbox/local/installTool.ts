import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Copies a host binary into `<workRoot>/.tools/<name>`, from where sandboxes
 * bind it read-only: bound from node_modules or /usr, its host path would
 * show in the job's /proc/self/mountinfo; from the work root's tmpfs it shows
 * as `/.tools/<name>`. Written under a temporary name and renamed, so a
 * neighbour worker's sandbox never sees a half-written file.
 *
 * `mode` 0o111 makes it execute-only: the kernel then marks a process that
 * runs it non-dumpable, so processes of the same uid cannot open its
 * /proc/<pid>/mem, fds or environ (see caseRunner.ts).
 */
export async function installTool(workRoot: string, binary: string, name: string, mode: 0o755 | 0o111): Promise<string> {
  const dir = path.join(workRoot, '.tools');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const target = path.join(dir, name);
  const partial = `${target}.${randomBytes(4).toString('hex')}`;
  await copyFile(binary, partial);
  await chmod(partial, mode);
  await rename(partial, target);
  return target;
}
