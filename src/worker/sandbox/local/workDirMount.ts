import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Mounts a size-capped tmpfs on a job's work dir. Its pages are charged to
 * the memory cgroup of whoever writes them, so what the program stores there
 * counts against the job's memory, and the size cap stops a disk fill.
 * Needs root (CAP_SYS_ADMIN); callers fall back to a plain directory otherwise.
 */
export async function mountWorkDirTmpfs(dir: string, sizeBytes: number, owner: { uid: number; gid: number }): Promise<void> {
  await run('mount', [
    '-t', 'tmpfs',
    '-o', `size=${sizeBytes},mode=0700,uid=${owner.uid},gid=${owner.gid},nosuid,nodev`,
    'sandq-work', dir,
  ]);
}

export async function unmountWorkDir(dir: string): Promise<void> {
  // Lazy: the sandbox is gone by now, but a late reader must not keep the mount alive.
  await run('umount', ['-l', dir]);
}
