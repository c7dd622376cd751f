import { describe, expect, it } from 'vitest';
import { comparisonSchema } from '../../src/shared/contract/testCases.js';
import { compareOutput } from '../../src/worker/testCases/compareOutput.js';

const mode = (value: unknown) => comparisonSchema.parse(value);

describe('comparing a case\'s output with the expected one', () => {
  it('exact: byte for byte, and names the first line that differs', () => {
    expect(compareOutput('1\n2\n', '1\n2\n', mode({ mode: 'exact' }))).toEqual({ passed: true });
    expect(compareOutput('1\n2 \n', '1\n2\n', mode({ mode: 'exact' }))).toEqual({ passed: false, firstDifference: { line: 2, expected: '2', actual: '2 ' } });
    expect(compareOutput('1\n2', '1\n2\n', mode({ mode: 'exact' }))).toMatchObject({ passed: false });
  });

  it('trimTrailingWhitespace (the default): trailing blanks, a CR and trailing empty lines do not count', () => {
    expect(mode({}).mode).toBe('trimTrailingWhitespace');
    expect(compareOutput('1  \r\n2\n\n\n', '1\n2', mode({}))).toEqual({ passed: true });
    expect(compareOutput(' 1\n', '1\n', mode({}))).toEqual({ passed: false, firstDifference: { line: 1, expected: '1', actual: ' 1' } });
    expect(compareOutput('1\n', '1\n2\n', mode({}))).toEqual({ passed: false, firstDifference: { line: 2, expected: '2', actual: null } });
  });

  it('tokens: the words must be equal, however they are spaced or broken into lines', () => {
    expect(compareOutput('1   2\n3\n', '1 2 3', mode({ mode: 'tokens' }))).toEqual({ passed: true });
    expect(compareOutput('1 2\n4\n', '1 2\n3\n', mode({ mode: 'tokens' }))).toEqual({ passed: false, firstDifference: { line: 2, expected: '3', actual: '4' } });
    expect(compareOutput('1.0\n', '1\n', mode({ mode: 'tokens' }))).toMatchObject({ passed: false });
  });

  it('float: numbers equal within the tolerance, absolute near zero and relative above one; words must match exactly', () => {
    const float = mode({ mode: 'float', tolerance: 1e-3 });
    expect(compareOutput('3.1416 x\n', '3.14159 x\n', float)).toEqual({ passed: true });
    expect(compareOutput('1000.9\n', '1000\n', float)).toEqual({ passed: true });
    expect(compareOutput('1002\n', '1000\n', float)).toMatchObject({ passed: false, firstDifference: { line: 1 } });
    expect(compareOutput('0.0009\n', '0\n', float)).toEqual({ passed: true });
    expect(compareOutput('nan\n', 'nan\n', float)).toEqual({ passed: true });
    expect(compareOutput('y\n', 'x\n', float)).toMatchObject({ passed: false });
    expect(compareOutput('\n', '0\n', float)).toMatchObject({ passed: false });
  });

  it('trims a line of a million blanks ending in another character in linear time (a regex backtracked for minutes)', () => {
    const line = `${' '.repeat(1_000_000)}x`;
    expect(compareOutput(line, 'a', mode({}))).toMatchObject({ passed: false, firstDifference: { line: 1, expected: 'a' } });
    expect(compareOutput(`${' '.repeat(1_000_000)}`, '', mode({}))).toEqual({ passed: true });
  });

  it('quotes at most 200 characters of a differing line', () => {
    const verdict = compareOutput('a'.repeat(500), 'b', mode({ mode: 'exact' }));
    expect(verdict.passed).toBe(false);
    if (!verdict.passed) expect(verdict.firstDifference.actual).toBe(`${'a'.repeat(200)}…`);
  });
});
