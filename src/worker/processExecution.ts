import type { Job } from 'bullmq';
import type { CompileResult, ExecutionOutcome, FinalStatus, RunLimit } from '../shared/contract/execution.js';
import type { TestCaseResult } from '../shared/contract/testCases.js';
import { DEFAULT_COMPARISON, testCaseResult, testSummary } from './testCases/testCaseResults.js';
import type { LanguageRegistry } from '../shared/languages/LanguageRegistry.js';
import type { Logger } from '../shared/logger.js';
import type { ExecutionJobData } from '../shared/queues.js';
import { prepareProgram } from './program/prepareProgram.js';
import { runInFreshSandbox } from './runInFreshSandbox.js';
import { encodeOutput } from './sandbox/OutputCollector.js';
import { ProgramInputError } from './sandbox/ProgramInputError.js';
import type { SandboxPool } from './sandbox/SandboxPool.js';
import type { OutputStream, RunOutcome, Termination } from './sandbox/SandboxProvider.js';
import { UnrecoverableProviderError } from './sandbox/UnrecoverableProviderError.js';

export interface ProcessorDeps {
  /** The pool of the provider a job names (job.data.provider). */
  sandboxes: { pool(provider: string): SandboxPool | undefined };
  /** The definitions the request's language is looked up in (the API's are the same). */
  languages: LanguageRegistry;
  logger: Logger;
  maxArtifactBytes: number;
  /** Each chunk of output as the program writes it (live output for SSE). */
  onOutput?: (executionId: string, stream: OutputStream, chunk: Buffer) => void;
  /** Test cases: each case's row as it ends. */
  onTestCase?: (executionId: string, index: number, row: TestCaseResult) => void;
}

const STATUS_OF: Record<Exclude<Termination, 'exited'>, FinalStatus> = {
  timed_out: 'timed_out',
  output_exceeded: 'output_exceeded',
  memory_exceeded: 'memory_exceeded',
  cancelled: 'cancelled',
  compile_failed: 'compile_failed',
  // A whole run is never not_run: only a case is.
  not_run: 'cancelled',
};

/** The compile limit behind each limit a stopped compiler hit (its time, CPU or wall, is compileTimeoutMs). */
const COMPILE_LIMIT: Record<RunLimit, CompileResult['limit']> = {
  timeoutMs: 'compileTimeoutMs',
  cpuTimeMs: 'compileTimeoutMs',
  memoryMb: 'compileMemoryMb',
  maxOutputBytes: 'maxOutputBytes',
  maxFileBytes: 'maxFileBytes',
};

function compileResult(compile: RunOutcome['compile']): CompileResult | null {
  if (!compile) return null;
  const { exitCode, signal, stdout, stderr, stdoutEncoding, stderrEncoding, durationMs, cpuTimeMs, memoryPeakBytes, limit } = compile;
  return { exitCode, signal, stdout, stderr, stdoutEncoding, stderrEncoding, durationMs, cpuTimeMs, memoryPeakBytes, limit: limit && COMPILE_LIMIT[limit] };
}

function statusOf(run: RunOutcome, tests: TestCaseResult[] | null): FinalStatus {
  if (run.termination !== 'exited') return STATUS_OF[run.termination];
  // A test-case submission succeeds only when every case passed.
  if (tests) return tests.every((row) => row.status === 'passed') ? 'succeeded' : 'failed';
  return run.exitCode === 0 ? 'succeeded' : 'failed';
}

/**
 * The BullMQ processor. Whatever the user's program does is a completed
 * execution (its status says how it went); only a fault of the service itself
 * throws, so that BullMQ retries the job.
 */
export function createExecutionProcessor(deps: ProcessorDeps) {
  return async (job: Job<ExecutionJobData, ExecutionOutcome>, _token?: string, signal?: AbortSignal): Promise<ExecutionOutcome> => {
    const log = deps.logger.child({ executionId: job.id, attempt: job.attemptsStarted });
    const { request } = job.data;
    const queuedMs = Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp);
    log.info({ language: request.language, queuedMs }, 'execution started');

    const language = deps.languages.find(request.language);
    // The API checked the name against the same definitions: a worker that lacks it was configured differently.
    if (!language) throw new Error(`language ${request.language} is not defined on this worker`);
    const program = prepareProgram(request, language);
    const pool = deps.sandboxes.pool(job.data.provider);
    if (!pool) throw new Error(`provider ${job.data.provider} is not enabled on this worker`);
    const comparison = request.comparison ?? DEFAULT_COMPARISON;
    const rows: TestCaseResult[] = [];
    const onOutput = deps.onOutput && ((stream: OutputStream, chunk: Buffer) => deps.onOutput!(String(job.id), stream, chunk));
    let started: Awaited<ReturnType<typeof runInFreshSandbox>>;
    try {
      // Each case is judged once, as it ends: its row goes out live and into the result.
      const onCase = request.tests
        ? (index: number, outcome: RunOutcome) => {
            const row = testCaseResult(outcome, request.tests![index]!, comparison);
            rows[index] = row;
            deps.onTestCase?.(String(job.id), index, row);
          }
        : undefined;
      started = await runInFreshSandbox(pool, program, { limits: request.limits, signal, onOutput, outputEncoding: request.outputEncoding, ...(onCase ? { onCase } : {}) });
    } catch (error) {
      if (error instanceof ProgramInputError) {
        log.info({ status: 'failed', reason: error.message }, 'the request\'s files could not be laid out in the sandbox');
        const stdout = encodeOutput(Buffer.alloc(0), request.outputEncoding);
        const stderr = encodeOutput(Buffer.from(`${error.message}\n`), request.outputEncoding);
        const result = {
          ...{ compile: null, exitCode: null, signal: null, stdout: stdout.content, stderr: stderr.content, stdoutEncoding: stdout.encoding, stderrEncoding: stderr.encoding },
          ...{ stdoutTruncated: false, stderrTruncated: false },
          ...{ durationMs: 0, cpuTimeMs: null, memoryPeakBytes: null, limit: null, tests: null, summary: null, queuedMs, artifacts: [], skippedArtifacts: [] },
        };
        return { status: 'failed', result, error: null };
      }
      // A fault no retry can fix (the provider rejects our credentials) ends the execution now, as `error`.
      if (!(error instanceof UnrecoverableProviderError)) throw error;
      log.error({ status: 'error', code: error.code, err: error }, 'execution could not be run');
      return { status: 'error', result: null, error: { code: error.code, message: error.message } };
    }
    const { sandbox, run } = started;
    try {
      const { artifacts, skipped } = await sandbox.collectArtifacts(request.artifacts, deps.maxArtifactBytes);
      const { termination: _termination, compile, cases, ...result } = run;
      const tests = cases && request.tests ? cases.map((outcome, index) => rows[index] ?? testCaseResult(outcome, request.tests![index]!, comparison)) : null;
      const status = statusOf(run, tests);
      log.info({ status, exitCode: run.exitCode, signal: run.signal, durationMs: run.durationMs }, 'execution finished');
      const summary = tests && testSummary(tests);
      return { status, result: { compile: compileResult(compile), ...result, tests, summary, queuedMs, artifacts, skippedArtifacts: skipped }, error: null };
    } finally {
      // Everything the program started is dead once run() returns; removing the rest
      // (cgroup, mount, work dir) need not hold up the result.
      pool.release(sandbox);
    }
  };
}
