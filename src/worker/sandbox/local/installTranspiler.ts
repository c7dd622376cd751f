import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Copies the transpiler into `<workRoot>/.tools/`, from where sandboxes bind
 * it read-only: bound from node_modules, its host path would show in the
 * job's /proc/self/mountinfo; from the work root's tmpfs it shows as
 * `/.tools/esbuild`. Written under a temporary name and renamed, so a
 * neighbour worker's sandbox never sees a half-written file.
 */
export async function installTranspiler(workRoot: string, binary: string): Promise<string> {
  const dir = path.join(workRoot, '.tools');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const target = path.join(dir, 'esbuild');
  const partial = `${target}.${randomBytes(4).toString('hex')}`;
  await copyFile(binary, partial);
  await chmod(partial, 0o755);
  await rename(partial, target);
  return target;
}
