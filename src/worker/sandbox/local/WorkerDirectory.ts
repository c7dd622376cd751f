import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeTree } from './removeTree.js';
import { isProcessGone } from './isProcessGone.js';

/** Where each worker records which directory under the work root is its own: `<root>/.workers/<name>` holds its pid. */
const RECORDS = '.workers';

/**
 * One worker's directory under the shared work root, where its jobs' work
 * dirs live. Its name is random: a job sees the name of its work dir in
 * /proc/self/mountinfo, so it must say nothing of the worker (no pid, no
 * host path). Which worker owns it is recorded beside, out of every job's
 * reach, so that a worker starting on the host removes what dead ones left.
 */
export class WorkerDirectory {
  private constructor(
    readonly path: string,
    private readonly record: string,
  ) {}

  /** Makes this worker's directory, after removing those of workers that are gone; says how many went. */
  static async open(workRoot: string): Promise<{ directory: WorkerDirectory; removedOrphans: number }> {
    const records = path.join(workRoot, RECORDS);
    await mkdir(records, { recursive: true, mode: 0o700 });
    const removedOrphans = await removeOrphans(workRoot, records);
    const name = `w${randomBytes(6).toString('hex')}`;
    const record = path.join(records, name);
    // The record first, so that no directory is ever without one.
    await writeFile(record, String(process.pid), { mode: 0o600, flag: 'wx' });
    const dir = path.join(workRoot, name);
    // 0711: a sandbox identity may reach its own job dir but not list the others.
    await mkdir(dir, { mode: 0o711 });
    return { directory: new WorkerDirectory(dir, record), removedOrphans };
  }

  /** Removes the directory (and whatever a job left in it) and the record. */
  async close(): Promise<void> {
    await removeTree(this.path);
    await rm(this.record, { force: true });
  }
}

async function removeOrphans(workRoot: string, records: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(records)) {
    const pid = Number(await readFile(path.join(records, name), 'utf8').catch(() => ''));
    // Ours: another provider in this same process may be using it right now.
    if (pid === process.pid || !isProcessGone(pid)) continue;
    await removeTree(path.join(workRoot, name));
    await rm(path.join(records, name), { force: true });
    removed++;
  }
  return removed;
}
