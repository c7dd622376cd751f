import type { Sandbox } from 'e2b';
import type { ArtifactCollection } from '../Artifact.js';
import { ArtifactSelection, type EntryKind, MAX_ARTIFACT_ENTRIES } from '../common/ArtifactSelection.js';
import { describeError } from './classifyE2BError.js';
import { WORK_DIR } from './launchCommand.js';

const LIST_TIMEOUT_MS = 30_000;

/** Every entry but directories, without following links: type, link count, size, relative path; NUL-terminated. */
const LIST_COMMAND = `find . -mindepth 1 ! -type d -printf '%y %n %s %P\\0' 2>/dev/null | head -z -n ${MAX_ARTIFACT_ENTRIES + 1}`;

/** find's `%y` letters. */
const KINDS: Record<string, EntryKind> = { f: 'file', l: 'symlink' };

/**
 * Reads back the files matching `patterns` from the sandbox's work dir, by
 * the same rules as the local provider (ArtifactSelection). The VM is E2B's,
 * so a link the program planted can reach nothing of the worker's; the rules
 * are kept for the same results.
 */
export async function collectE2BArtifacts(sandbox: Sandbox, patterns: string[], maxBytes: number, requestTimeoutMs: number): Promise<ArtifactCollection> {
  const selection = new ArtifactSelection(patterns, maxBytes);
  if (!selection.wanted) return selection.result();
  const listing = await sandbox.commands.run(LIST_COMMAND, { cwd: WORK_DIR, timeoutMs: LIST_TIMEOUT_MS, requestTimeoutMs });
  const entries = listing.stdout.split('\0').filter(Boolean);
  for (const line of entries.slice(0, MAX_ARTIFACT_ENTRIES)) {
    const [type, links, size, ...rest] = line.split(' ');
    const path = rest.join(' ');
    if (!selection.matches(path)) continue;
    if (!selection.admits({ path, kind: KINDS[type!] ?? 'other', links: Number(links), size: Number(size) })) continue;
    let content: Buffer;
    try {
      content = Buffer.from(await sandbox.files.read(`${WORK_DIR}/${path}`, { format: 'bytes', requestTimeoutMs }));
    } catch (error) {
      selection.skip(path, `cannot be read (${describeError(error)})`);
      continue;
    }
    // `take` checks the budget again: the file may have grown since it was listed (something the program left running).
    selection.take(path, content);
  }
  if (entries.length > MAX_ARTIFACT_ENTRIES) selection.stoppedEarly();
  return selection.result();
}
