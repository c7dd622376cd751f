import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { ArtifactCollection } from '../Artifact.js';

/** Bounds the walk of a work dir a program may have filled with millions of entries. */
const MAX_ENTRIES = 10_000;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads back the files matching `patterns` from a finished sandbox's work
 * dir. Runs only once every sandboxed process is dead, and trusts nothing the
 * program left: the walk never follows a link, and a file is returned only
 * when, opened without following links, it is a regular file with a single
 * link (no hard link to something else) that fits the remaining byte budget.
 */
export async function collectArtifacts(workDir: string, patterns: string[], maxBytes: number): Promise<ArtifactCollection> {
  const result: ArtifactCollection = { artifacts: [], skipped: [] };
  if (patterns.length === 0) return result;
  const matches = picomatch(patterns, { dot: false });
  let budget = maxBytes;
  let seen = 0;

  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) return;
      const full = path.join(dir, entry.name);
      const relative = path.relative(workDir, full);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      if (!matches(relative)) continue;
      if (!entry.isFile()) {
        result.skipped.push({ path: relative, reason: entry.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file' });
        continue;
      }
      let handle;
      try {
        handle = await open(full, READ_FLAGS);
      } catch (error) {
        result.skipped.push({ path: relative, reason: `cannot be opened (${(error as NodeJS.ErrnoException).code})` });
        continue;
      }
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) result.skipped.push({ path: relative, reason: 'is not a regular file' });
        else if (stat.nlink !== 1) result.skipped.push({ path: relative, reason: 'has more than one hard link' });
        else if (stat.size > budget) result.skipped.push({ path: relative, reason: `does not fit the remaining ${budget} bytes of the artifact limit` });
        else {
          const content = await handle.readFile();
          budget -= content.length;
          result.artifacts.push({ path: relative, size: content.length, encoding: 'base64', content: content.toString('base64') });
        }
      } finally {
        await handle.close();
      }
    }
  };
  await walk(workDir);
  if (seen > MAX_ENTRIES) result.skipped.push({ path: '.', reason: `the work dir has more than ${MAX_ENTRIES} entries; the rest was not searched` });
  return result;
}
