import { describe, expect, it } from 'vitest';
import { CANCELLED_OUTCOME, finalRecordOf, parseFinalRecord, replayOf } from '../../src/executions/ExecutionFinalizer.js';
import type { ExecutionOutcome } from '../../src/shared/contract/execution.js';

const SUCCEEDED: ExecutionOutcome = {
  status: 'succeeded',
  result: { exitCode: 0, signal: null, stdout: 'hi\n', stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8', stdoutTruncated: false, stderrTruncated: false, durationMs: 5, queuedMs: 1, artifacts: [], skippedArtifacts: [], compile: null, cpuTimeMs: 2, memoryPeakBytes: 4096, limit: null, tests: null, summary: null },
  error: null,
};

describe('the record an execution is finalized with', () => {
  it('takes the outcome\'s status, and `error` when the service failed it (no outcome)', () => {
    expect(finalRecordOf(SUCCEEDED)).toEqual({ status: 'succeeded', outcome: SUCCEEDED });
    expect(finalRecordOf(CANCELLED_OUTCOME)).toEqual({ status: 'cancelled', outcome: CANCELLED_OUTCOME });
    expect(finalRecordOf(null)).toEqual({ status: 'error', outcome: null });
  });

  it('reads back what it stored', () => {
    for (const outcome of [SUCCEEDED, CANCELLED_OUTCOME, null]) {
      const record = finalRecordOf(outcome);
      expect(parseFinalRecord(JSON.stringify(record))).toEqual(record);
    }
  });

  it('reads no claim from nothing or from what it did not write', () => {
    expect(parseFinalRecord(null)).toBeUndefined();
    expect(parseFinalRecord('not json')).toBeUndefined();
    expect(parseFinalRecord('{"outcome":null}')).toBeUndefined();
  });
});

describe('a job run again after its execution is final', () => {
  it('gives back the outcome it ended with', () => {
    expect(replayOf(finalRecordOf(SUCCEEDED))).toEqual({ outcome: SUCCEEDED });
    expect(replayOf(finalRecordOf(CANCELLED_OUTCOME))).toEqual({ outcome: CANCELLED_OUTCOME });
  });

  it('fails again when the service had failed it, so its job stays failed', () => {
    expect(replayOf(finalRecordOf(null))).toHaveProperty('failure');
  });
});
