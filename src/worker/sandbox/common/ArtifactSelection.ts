import picomatch from 'picomatch';
import type { ArtifactCollection } from '../Artifact.js';

/** Bounds the walk of a work dir a program may have filled with millions of entries. */
export const MAX_ARTIFACT_ENTRIES = 10_000;

/** What a work-dir entry is, as seen without following links. */
export type EntryKind = 'file' | 'symlink' | 'other';

export interface WorkDirEntry {
  /** Relative to the work dir. */
  path: string;
  kind: EntryKind;
  links: number;
  size: number;
}

/** Why a matching path is not returned; the same words whichever provider ran the program. */
const SKIP_REASONS = {
  symlink: 'is a symbolic link',
  notRegular: 'is not a regular file',
  hardLinked: 'has more than one hard link',
  overBudget: (budget: number) => `does not fit the remaining ${budget} bytes of the artifact limit`,
  compiled: 'was written by the compile, and what a compile builds is not handed back',
  tooManyEntries: `the work dir has more than ${MAX_ARTIFACT_ENTRIES} entries; the rest was not searched`,
} as const;

/**
 * The rules for which of the files a program left are handed back, kept
 * apart from how a provider reaches them: only paths matching the request's
 * patterns (dotfiles only when a pattern names them); only regular files
 * with a single link (no hard link to something else); each only while it
 * fits what is left of the byte budget. Everything else that matches is
 * listed as skipped, with the reason. A provider walks its work dir, asks
 * `admits` of each matching entry, reads those admitted, and hands the bytes
 * to `take`.
 */
export class ArtifactSelection {
  private readonly matcher: (path: string) => boolean;
  private readonly collection: ArtifactCollection = { artifacts: [], skipped: [] };
  private budget: number;
  /** False when the request asked for no artifacts: nothing need be walked. */
  readonly wanted: boolean;

  /** `withheld`: paths never handed back, whatever the patterns (what a compile wrote). */
  constructor(
    patterns: readonly string[],
    maxBytes: number,
    private readonly withheld: ReadonlySet<string> = new Set(),
  ) {
    this.matcher = patterns.length === 0 ? () => false : picomatch([...patterns], { dot: false });
    this.budget = maxBytes;
    this.wanted = patterns.length > 0;
  }

  matches(path: string): boolean {
    return this.matcher(path);
  }

  /** Whether a matching entry is to be read; when not, it is recorded as skipped. */
  admits(entry: WorkDirEntry): boolean {
    if (!this.admitsKind(entry.path, entry.kind)) return false;
    if (this.withheld.has(entry.path)) return this.skip(entry.path, SKIP_REASONS.compiled);
    if (entry.links !== 1) return this.skip(entry.path, SKIP_REASONS.hardLinked);
    if (entry.size > this.budget) return this.skip(entry.path, SKIP_REASONS.overBudget(this.budget));
    return true;
  }

  /** The first of the checks, for a walk that learns an entry's kind before its links and size: only a file goes on. */
  admitsKind(path: string, kind: EntryKind): boolean {
    if (kind === 'symlink') return this.skip(path, SKIP_REASONS.symlink);
    if (kind !== 'file') return this.skip(path, SKIP_REASONS.notRegular);
    return true;
  }

  /** Keeps an admitted file's bytes, unless it grew past the budget after it was listed. */
  take(path: string, content: Buffer): void {
    if (content.length > this.budget) {
      this.skip(path, SKIP_REASONS.overBudget(this.budget));
      return;
    }
    this.budget -= content.length;
    this.collection.artifacts.push({ path, size: content.length, encoding: 'base64', content: content.toString('base64') });
  }

  /** Records a matching path that is not returned (always false, so `admits` can return it). */
  skip(path: string, reason: string): false {
    this.collection.skipped.push({ path, reason });
    return false;
  }

  /** Says the walk stopped at MAX_ARTIFACT_ENTRIES. */
  stoppedEarly(): void {
    this.skip('.', SKIP_REASONS.tooManyEntries);
  }

  result(): ArtifactCollection {
    return this.collection;
  }
}
