import { describe, expect, it } from 'vitest';
import { caseOutputBytes, TEST_CASES_OUTPUT_BYTES } from '../../src/shared/contract/testCases.js';

describe('the output cap of each test case', () => {
  it('is limits.maxOutputBytes, or the case\'s share of what all cases may print together when that is smaller', () => {
    expect(caseOutputBytes(1024 * 1024, 2)).toBe(1024 * 1024);
    expect(caseOutputBytes(16 * 1024 * 1024, 64)).toBe(TEST_CASES_OUTPUT_BYTES / 64);
    expect(caseOutputBytes(16 * 1024 * 1024, 1)).toBe(TEST_CASES_OUTPUT_BYTES);
    // 64 cases at the largest cap print at most TEST_CASES_OUTPUT_BYTES per stream in all.
    expect(64 * caseOutputBytes(16 * 1024 * 1024, 64)).toBeLessThanOrEqual(TEST_CASES_OUTPUT_BYTES);
  });
});
