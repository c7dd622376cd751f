import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether `dir` is itself the mount point of a tmpfs. */
async function isTmpfsMountPoint(dir: string): Promise<boolean> {
  const target = path.resolve(dir);
  const mountInfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountInfo.split('\n').some((line) => {
    const [before, after] = line.split(' - ');
    return before?.split(' ')[4] === target && after?.split(' ')[0] === 'tmpfs';
  });
}

/**
 * Puts the work root on a tmpfs, once per host: job work dirs then live in
 * memory, and every page a job stores there is charged to that job's memory
 * cgroup, so its limit bounds what it can write (no disk fill, no quota to
 * manage). One mount for all jobs keeps mount(8) off each job's path.
 * It stays mounted when the worker stops, since other workers on the host
 * may share it. Needs root; returns false when it could not mount.
 */
export async function ensureWorkRootTmpfs(workRoot: string): Promise<boolean> {
  if (await isTmpfsMountPoint(workRoot)) return true;
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'mode=0711,nosuid,nodev', 'sandq-work', workRoot]);
    return true;
  } catch {
    return false;
  }
}
