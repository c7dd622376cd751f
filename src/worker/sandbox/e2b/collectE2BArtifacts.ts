import type { Sandbox } from 'e2b';
import picomatch from 'picomatch';
import type { ArtifactCollection } from '../Artifact.js';
import { describeError } from './classifyE2BError.js';
import { WORK_DIR } from './launchCommand.js';

/** Bounds the listing of a work dir a program may have filled with millions of entries. */
const MAX_ENTRIES = 10_000;
const LIST_TIMEOUT_MS = 30_000;

/** Every entry but directories, without following links: type, link count, size, relative path; NUL-terminated. */
const LIST_COMMAND = `find . -mindepth 1 ! -type d -printf '%y %n %s %P\\0' 2>/dev/null | head -z -n ${MAX_ENTRIES + 1}`;

const REASONS: Record<string, string> = { l: 'is a symbolic link' };

/**
 * Reads back the files matching `patterns` from the sandbox's work dir, with
 * the local provider's rules: only regular files with a single link that fit
 * the remaining byte budget; links, FIFOs, devices and the rest are listed
 * as skipped, with the reason. The VM is E2B's, so a link the program planted
 * can reach nothing of the worker's; the rules are kept for the same results.
 */
export async function collectE2BArtifacts(sandbox: Sandbox, patterns: string[], maxBytes: number, requestTimeoutMs: number): Promise<ArtifactCollection> {
  const result: ArtifactCollection = { artifacts: [], skipped: [] };
  if (patterns.length === 0) return result;
  const listing = await sandbox.commands.run(LIST_COMMAND, { cwd: WORK_DIR, timeoutMs: LIST_TIMEOUT_MS, requestTimeoutMs });
  const entries = listing.stdout.split('\0').filter(Boolean);
  const matches = picomatch(patterns, { dot: false });
  let budget = maxBytes;
  for (const line of entries.slice(0, MAX_ENTRIES)) {
    const [type, links, size, ...rest] = line.split(' ');
    const path = rest.join(' ');
    if (!matches(path)) continue;
    if (type !== 'f') {
      result.skipped.push({ path, reason: REASONS[type!] ?? 'is not a regular file' });
      continue;
    }
    if (Number(links) !== 1) {
      result.skipped.push({ path, reason: 'has more than one hard link' });
      continue;
    }
    if (Number(size) > budget) {
      result.skipped.push({ path, reason: `does not fit the remaining ${budget} bytes of the artifact limit` });
      continue;
    }
    let content: Buffer;
    try {
      content = Buffer.from(await sandbox.files.read(`${WORK_DIR}/${path}`, { format: 'bytes', requestTimeoutMs }));
    } catch (error) {
      result.skipped.push({ path, reason: `cannot be read (${describeError(error)})` });
      continue;
    }
    // It may have grown since it was listed (something the program left running).
    if (content.length > budget) {
      result.skipped.push({ path, reason: `does not fit the remaining ${budget} bytes of the artifact limit` });
      continue;
    }
    budget -= content.length;
    result.artifacts.push({ path, size: content.length, encoding: 'base64', content: content.toString('base64') });
  }
  if (entries.length > MAX_ENTRIES) result.skipped.push({ path: '.', reason: `the work dir has more than ${MAX_ENTRIES} entries; the rest was not searched` });
  return result;
}
