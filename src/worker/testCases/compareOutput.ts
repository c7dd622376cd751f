import type { Comparison, FirstDifference } from '../../shared/contract/testCases.js';

/** The longest line a first difference quotes. */
const QUOTED_CHARS = 200;

export type ComparisonVerdict = { passed: true } | { passed: false; firstDifference: FirstDifference };

const BLANKS = new Set([' ', '\t', '\r', '\f', '\v']);

/** A line without its trailing blanks; a loop, not a regex, which backtracks quadratically over a long run of blanks. */
function trimEndBlanks(line: string): string {
  let end = line.length;
  while (end > 0 && BLANKS.has(line[end - 1]!)) end--;
  return line.slice(0, end);
}

/** Lines as `trimTrailingWhitespace` sees them: each without its trailing blanks, trailing empty lines dropped. */
function trimmedLines(text: string): string[] {
  const lines = text.split('\n').map(trimEndBlanks);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** For the token modes, each line's whitespace-separated words; blank lines carry none. */
function tokenLines(text: string): string[][] {
  return text.split('\n').map((line) => line.split(/\s+/).filter(Boolean));
}

function sameNumber(actual: string, expected: string, tolerance: number): boolean {
  if (actual === expected) return true;
  const a = Number(actual);
  const e = Number(expected);
  if (!Number.isFinite(a) || !Number.isFinite(e) || actual.trim() === '' || expected.trim() === '') return false;
  return Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e));
}

function quote(line: string | undefined): string | null {
  if (line === undefined) return null;
  return line.length > QUOTED_CHARS ? `${line.slice(0, QUOTED_CHARS)}…` : line;
}

/** The first line where two lists of lines differ, by `same`; undefined when they agree. */
function firstDifferentLine<T>(actual: T[], expected: T[], same: (a: T, e: T) => boolean, show: (line: T | undefined) => string | undefined): FirstDifference | undefined {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    const a = actual[i];
    const e = expected[i];
    if (a !== undefined && e !== undefined && same(a, e)) continue;
    return { line: i + 1, expected: quote(show(e)), actual: quote(show(a)) };
  }
  return undefined;
}

/**
 * Judges a case's stdout against what was expected. Token modes compare the
 * words of the whole output, line breaks included as separators, and point
 * at the first line (of words) that differs.
 */
export function compareOutput(actual: string, expected: string, comparison: Comparison): ComparisonVerdict {
  let difference: FirstDifference | undefined;
  switch (comparison.mode) {
    case 'exact':
      if (actual === expected) return { passed: true };
      difference = firstDifferentLine(actual.split('\n'), expected.split('\n'), (a, e) => a === e, (line) => line) ?? { line: 1, expected: null, actual: null };
      break;
    case 'trimTrailingWhitespace':
      difference = firstDifferentLine(trimmedLines(actual), trimmedLines(expected), (a, e) => a === e, (line) => line);
      break;
    case 'tokens':
    case 'float': {
      const same = comparison.mode === 'tokens' ? (a: string, e: string) => a === e : (a: string, e: string) => sameNumber(a, e, comparison.tolerance);
      const actualWords = tokenLines(actual).flat();
      const expectedWords = tokenLines(expected).flat();
      if (actualWords.length === expectedWords.length && actualWords.every((word, i) => same(word, expectedWords[i]!))) return { passed: true };
      // Point at the line: the non-blank lines of words, compared a line at a time.
      const lines = (text: string) => tokenLines(text).filter((words) => words.length > 0);
      const sameLine = (a: string[], e: string[]) => a.length === e.length && a.every((word, i) => same(word, e[i]!));
      difference = firstDifferentLine(lines(actual), lines(expected), sameLine, (words) => words?.join(' ')) ?? { line: 1, expected: null, actual: null };
      break;
    }
  }
  return difference ? { passed: false, firstDifference: difference } : { passed: true };
}
