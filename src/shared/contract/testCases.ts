import { z } from 'zod';
import type { ProgramRunResult } from './execution.js';

/**
 * What all the cases of one submission may print together, per stream: each
 * case's output cap is the smaller of limits.maxOutputBytes and its share of
 * this, so that a result (kept in Redis, sent whole in webhooks) stays bounded.
 */
export const TEST_CASES_OUTPUT_BYTES = 16 * 1024 * 1024;

/** The output cap of each case of a submission with `cases` cases. */
export function caseOutputBytes(maxOutputBytes: number, cases: number): number {
  return Math.max(1, Math.min(maxOutputBytes, Math.floor(TEST_CASES_OUTPUT_BYTES / cases)));
}

/** How a case's stdout is compared with its expected stdout. */
export const COMPARISON_MODES = ['exact', 'trimTrailingWhitespace', 'tokens', 'float'] as const;
export type ComparisonMode = (typeof COMPARISON_MODES)[number];

export const comparisonSchema = z
  .object({
    /**
     * `exact`: byte for byte. `trimTrailingWhitespace`: each line's trailing
     * blanks and the trailing empty lines are ignored. `tokens`: the
     * whitespace-separated words must be equal. `float`: as tokens, but two
     * numbers are equal within `tolerance`.
     * @defaultValue 'trimTrailingWhitespace'
     */
    mode: z.enum(COMPARISON_MODES).default('trimTrailingWhitespace'),
    /**
     * `float` only: |actual − expected| ≤ tolerance × max(1, |expected|), absolute near zero, relative above one.
     * @defaultValue 1e-6
     */
    tolerance: z.number().min(0).max(1).default(1e-6),
  })
  .strict();

export type Comparison = z.output<typeof comparisonSchema>;

/** One case of a test-case submission, as a request gives it. */
export function testCaseSchema(maxTimeoutMs: number) {
  return z
    .object({
      name: z.string().min(1).max(128).optional(),
      stdin: z.string().optional(),
      args: z.array(z.string().max(4096).refine((s) => !s.includes('\0'), 'must not contain NUL bytes')).max(256).optional(),
      /** Absent: the case passes when the program exits 0. */
      expectedStdout: z.string().optional(),
      /** Lower than the job's `limits.timeoutMs` for this case; never above it. */
      timeoutMs: z.number().int().min(1).max(maxTimeoutMs).optional(),
    })
    .strict();
}

export type TestCaseInput = z.output<ReturnType<typeof testCaseSchema>>;

/** How one case ended. */
export const TEST_CASE_STATUSES = ['passed', 'wrong_answer', 'failed', 'timed_out', 'memory_exceeded', 'output_exceeded', 'cancelled', 'not_run'] as const;
export type TestCaseStatus = (typeof TEST_CASE_STATUSES)[number];

/** Where a case's stdout first differs from what was expected (1-based line; the lines as compared, capped). */
export interface FirstDifference {
  line: number;
  expected: string | null;
  actual: string | null;
}

/** One case's row in the result. */
export interface TestCaseResult extends ProgramRunResult {
  name: string | null;
  status: TestCaseStatus;
  /** `wrong_answer` only. */
  firstDifference: FirstDifference | null;
}

export interface TestSummary {
  passed: number;
  total: number;
}
