import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessGone } from '../../src/worker/sandbox/local/isProcessGone.js';

/**
 * Every sandbox a test starts gets a work root and a uid range that nothing
 * else on the host uses: not another test file, not a second test run, not a
 * sandq running beside the tests (its default root is /tmp/sandq and its uids
 * start at 2,000,000). Ranges are claimed with a lock file per range under
 * LOCKS, holding the claiming process's pid; a range whose holder is gone is
 * free again.
 */
const LOCKS = path.join(os.tmpdir(), 'sandq-test-uid-ranges');
const FIRST_BASE = 3_000_000;
const RANGE_SIZE = 10_000;
const RANGES = 2_000;

export interface SandboxIsolation {
  SANDBOX_WORK_ROOT: string;
  SANDBOX_UID_BASE: string;
  SANDBOX_UID_COUNT: string;
}

const claimed: { lock: string; root: string }[] = [];

/** A lock holds `<pid>\n<work root>`. */
function readLock(lock: string): { pid: number; root: string } | undefined {
  try {
    const [pid, root] = readFileSync(lock, 'utf8').split('\n');
    return { pid: Number(pid), root: root ?? '' };
  } catch {
    return undefined;
  }
}

function createExclusive(lock: string, root: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, `${process.pid}\n${root}`);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Takes down the tmpfs a provider mounted on the root, then the root itself. */
function removeRoot(root: string): void {
  if (!root.startsWith(path.join(os.tmpdir(), 'sandq-test-'))) return;
  try {
    execFileSync('umount', ['--lazy', root], { stdio: 'ignore' });
  } catch {
    // never mounted
  }
  rmSync(root, { recursive: true, force: true });
}

function tryClaim(lock: string, root: string): boolean {
  if (createExclusive(lock, root)) return true;
  const held = readLock(lock);
  if (held && !isProcessGone(held.pid)) return false;
  // Stale: its holder died without releasing it. Clear what it left and race for it once more.
  if (held) removeRoot(held.root);
  rmSync(lock, { force: true });
  return createExclusive(lock, root);
}

/** A fresh work root and a uid range of `count` (≤ 10,000) that this process alone uses until releaseIsolatedSandboxes. */
export function isolatedSandbox(count = 1000): SandboxIsolation {
  if (count > RANGE_SIZE) throw new Error(`a test may claim at most ${RANGE_SIZE} uids at once`);
  mkdirSync(LOCKS, { recursive: true });
  const root = mkdtempSync(path.join(os.tmpdir(), 'sandq-test-'));
  // Start at a random range so that parallel test files rarely contend for the same lock.
  const start = Math.floor(Math.random() * RANGES);
  for (let i = 0; i < RANGES; i++) {
    const base = FIRST_BASE + ((start + i) % RANGES) * RANGE_SIZE;
    const lock = path.join(LOCKS, String(base));
    if (!tryClaim(lock, root)) continue;
    claimed.push({ lock, root });
    return { SANDBOX_WORK_ROOT: root, SANDBOX_UID_BASE: String(base), SANDBOX_UID_COUNT: String(count) };
  }
  rmSync(root, { recursive: true, force: true });
  throw new Error(`every uid range under ${LOCKS} is taken by a live process`);
}

/** Gives back every range this process claimed and removes its work roots; run after a file's own teardown (test/setup.ts). */
export function releaseIsolatedSandboxes(): void {
  for (const { lock, root } of claimed.splice(0)) {
    removeRoot(root);
    rmSync(lock, { force: true });
  }
}

// A file that dies before its teardown leaves its lock for the next claimant to clear (tryClaim).
process.once('exit', releaseIsolatedSandboxes);
