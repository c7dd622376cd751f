import { closeSync, constants, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { access, open, readdir, rmdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Permission problems: the hierarchy is there but not ours to change. */
export function isPermissionError(error: unknown): boolean {
  return ['EACCES', 'EPERM', 'EROFS'].includes(errorCode(error) ?? '');
}

/*
 * Interface files are read and written synchronously on purpose: a cgroupfs
 * read or write is a few microseconds in the kernel, while the async fs API
 * makes three trips through libuv's four-thread pool (open, write, close),
 * which queue behind whatever else the worker does on that pool. These
 * calls sit on a job's path (a warm sandbox's limits are set when it is
 * claimed), so the microseconds win.
 */

/** The file's text, or null when it does not exist (older kernels lack some interface files). */
export function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** One value, one write(): the kernel parses each write on its own. */
export function writeValue(file: string, value: string): void {
  writeFileSync(file, value);
}

/** Like `echo value > file`, minus O_CREAT. */
const WRITE_EXISTING = constants.O_WRONLY | constants.O_TRUNC;

/**
 * Writes to an interface file only if the kernel made it (opened without
 * O_CREAT: cgroupfs answers a create with EACCES, which would hide the
 * difference between "absent" and "not allowed"). Returns whether it wrote.
 */
export function writeIfPresent(file: string, value: string): boolean {
  try {
    const fd = openSync(file, WRITE_EXISTING);
    try {
      writeSync(fd, value);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Writes each value with its own write() on one descriptor, as cgroup.procs
 * takes one pid per write. Returns the values the kernel refused, with why.
 */
export async function writeEach(file: string, values: string[]): Promise<{ value: string; error: unknown }[]> {
  const refused: { value: string; error: unknown }[] = [];
  const handle = await open(file, 'w');
  try {
    for (const value of values) {
      try {
        await handle.write(`${value}\n`);
      } catch (error) {
        refused.push({ value, error });
      }
    }
  } finally {
    await handle.close();
  }
  return refused;
}

/** Space-separated words, e.g. cgroup.controllers; '+' prefixes (as we write them) are dropped. */
export function words(text: string | null): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean).map((word) => word.replace(/^\+/, ''));
}

/** Flat keyed files like memory.events: "oom_kill 1" per line. */
export function keyedValues(text: string | null): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) values.set(key, Number(value));
  }
  return values;
}

/** The pids in a cgroup.procs file; none when the cgroup is gone. */
export async function readPids(procsFile: string): Promise<number[]> {
  return (readOptional(procsFile) ?? '')
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

/** Names of the sub-directories (child cgroups) of a directory; none when it is gone. */
export async function childDirectories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

const KILL_TIMEOUT_MS = 5000;
const RMDIR_TIMEOUT_MS = 2000;
const POLL_MS = 10;

/**
 * SIGKILLs every process listed in the given cgroup.procs files, re-reading
 * until all are empty: a process can fork between our read and our kill, and
 * its child shows up on the next read. Rejects when members outlive the
 * deadline (e.g. stuck in uninterruptible sleep).
 */
export async function killUntilEmpty(procsFiles: readonly string[]): Promise<void> {
  const deadline = performance.now() + KILL_TIMEOUT_MS;
  for (;;) {
    const pids = new Set((await Promise.all(procsFiles.map(readPids))).flat());
    if (pids.size === 0) return;
    if (performance.now() > deadline) {
      throw new Error(`processes ${[...pids].slice(0, 10).join(', ')} outlived SIGKILL for ${KILL_TIMEOUT_MS} ms in ${procsFiles.join(', ')}`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (error) {
        // Gone between our read and the kill; the next read will not list it.
        if (errorCode(error) !== 'ESRCH') throw error;
      }
    }
    await sleep(POLL_MS);
  }
}

/**
 * rmdir of a cgroup; EBUSY is retried briefly because a killed process leaves
 * the cgroup a moment after it stops being listed. A directory already gone counts as removed.
 */
async function removeCgroupDirectory(dir: string): Promise<void> {
  const deadline = performance.now() + RMDIR_TIMEOUT_MS;
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      if (errorCode(error) !== 'EBUSY' || performance.now() > deadline) throw error;
    }
    await sleep(POLL_MS * 2);
  }
}

/** destroy() of both versions: kill what is left, then rmdir every directory; a kill failure only matters if rmdir fails too. */
export async function killThenRemove(killAll: () => Promise<void>, directories: readonly string[]): Promise<void> {
  let killError: unknown;
  try {
    await killAll();
  } catch (error) {
    killError = error;
  }
  try {
    for (const dir of directories) await removeCgroupDirectory(dir);
  } catch (error) {
    if (killError !== undefined && error instanceof Error) error.cause = killError;
    throw error;
  }
}
