import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { MAX_ARTIFACT_ENTRIES } from '../common/ArtifactSelection.js';

/**
 * When each file the worker wrote into a work dir was last modified, to tell
 * later which ones a compile wrote. Synchronous, as the writes were: the
 * request's files on a tmpfs, just before the compile starts.
 */
export function modificationTimes(workDir: string, paths: readonly string[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const relative of paths) {
    const stat = lstatSync(path.join(workDir, relative), { throwIfNoEntry: false });
    if (stat) times.set(relative, stat.mtimeMs);
  }
  return times;
}

/**
 * The work-dir files a compile created or changed: every regular file but
 * those the worker wrote (`written`, with their times) and left as they
 * were. These are never handed back as artifacts. Walked without following
 * links, within the same entry bound as artifact collection; synchronously,
 * for it sits between the compile and the program on the job's clock, and
 * the thread pool's queue (other jobs' work dirs being removed) cost more
 * than the walk of a few files on a tmpfs.
 */
export function compileOutputs(workDir: string, written: ReadonlyMap<string, number>): Set<string> {
  const outputs = new Set<string>();
  let seen = 0;
  const entries = (dir: string): Dirent[] => {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  const walk = (dir: string): void => {
    for (const entry of entries(dir)) {
      if (++seen > MAX_ARTIFACT_ENTRIES) return;
      const full = path.join(dir, entry.name);
      const relative = path.relative(workDir, full);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const before = written.get(relative);
        if (before === undefined || lstatSync(full, { throwIfNoEntry: false })?.mtimeMs !== before) outputs.add(relative);
      }
    }
  };
  walk(workDir);
  return outputs;
}
