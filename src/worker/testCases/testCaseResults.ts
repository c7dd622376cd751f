import type { Comparison, TestCaseInput, TestCaseResult, TestCaseStatus, TestSummary } from '../../shared/contract/testCases.js';
import type { RunOutcome, Termination } from '../sandbox/SandboxProvider.js';
import { compareOutput } from './compareOutput.js';

type CaseOutcome = NonNullable<RunOutcome['cases']>[number];

/** A case that did not run to its own end is judged by how it was stopped. */
const STATUS_OF: Record<Exclude<Termination, 'exited' | 'compile_failed'>, TestCaseStatus> = {
  timed_out: 'timed_out',
  memory_exceeded: 'memory_exceeded',
  output_exceeded: 'output_exceeded',
  cancelled: 'cancelled',
  not_run: 'not_run',
};

/** Comparison when a request has tests and names none. */
export const DEFAULT_COMPARISON: Comparison = { mode: 'trimTrailingWhitespace', tolerance: 1e-6 };

/** One case's row: how it ran, judged against what it was expected to print. */
export function testCaseResult(outcome: CaseOutcome, test: TestCaseInput, comparison: Comparison): TestCaseResult {
  const { termination: _termination, ...ran } = outcome;
  const row = { name: test.name ?? null, ...ran, firstDifference: null };
  if (outcome.termination !== 'exited' && outcome.termination !== 'compile_failed') return { ...row, status: STATUS_OF[outcome.termination] };
  if (outcome.exitCode !== 0) return { ...row, status: 'failed' };
  if (test.expectedStdout === undefined) return { ...row, status: 'passed' };
  // Output cut at the cap was stopped as output_exceeded above: what is compared here is whole.
  // Judged as text, whatever encoding the row gives it in.
  const stdout = outcome.stdoutEncoding === 'base64' ? Buffer.from(outcome.stdout, 'base64').toString('utf8') : outcome.stdout;
  const verdict = compareOutput(stdout, test.expectedStdout, comparison);
  return verdict.passed ? { ...row, status: 'passed' } : { ...row, status: 'wrong_answer', firstDifference: verdict.firstDifference };
}

export function testSummary(rows: readonly TestCaseResult[]): TestSummary {
  return { passed: rows.filter((row) => row.status === 'passed').length, total: rows.length };
}
