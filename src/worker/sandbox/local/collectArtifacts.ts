import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactCollection } from '../Artifact.js';
import { ArtifactSelection, MAX_ARTIFACT_ENTRIES } from '../common/ArtifactSelection.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads back the files matching `patterns` from a finished sandbox's work
 * dir, by ArtifactSelection's rules. Runs only once every sandboxed process
 * is dead, and trusts nothing the program left: the walk never follows a
 * link, and a file's kind, links and size are those of what was opened
 * without following links.
 */
export async function collectArtifacts(workDir: string, patterns: string[], maxBytes: number, withheld?: ReadonlySet<string>): Promise<ArtifactCollection> {
  const selection = new ArtifactSelection(patterns, maxBytes, withheld);
  if (!selection.wanted) return selection.result();
  let seen = 0;

  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (++seen > MAX_ARTIFACT_ENTRIES) return;
      const full = path.join(dir, entry.name);
      const relative = path.relative(workDir, full);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      if (!selection.matches(relative)) continue;
      if (!selection.admitsKind(relative, entry.isFile() ? 'file' : entry.isSymbolicLink() ? 'symlink' : 'other')) continue;
      let handle;
      try {
        handle = await open(full, READ_FLAGS);
      } catch (error) {
        selection.skip(relative, `cannot be opened (${(error as NodeJS.ErrnoException).code})`);
        continue;
      }
      try {
        const stat = await handle.stat();
        if (selection.admits({ path: relative, kind: stat.isFile() ? 'file' : 'other', links: stat.nlink, size: stat.size })) {
          selection.take(relative, await handle.readFile());
        }
      } finally {
        await handle.close();
      }
    }
  };
  await walk(workDir);
  if (seen > MAX_ARTIFACT_ENTRIES) selection.stoppedEarly();
  return selection.result();
}
