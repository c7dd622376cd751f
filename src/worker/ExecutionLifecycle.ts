import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { CancelRequests } from '../executions/CancelRequests.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import type { ExecutionEvents } from '../executions/ExecutionEvents.js';
import { CANCELLED_OUTCOME, type ExecutionFinalizer, replayOf } from '../executions/ExecutionFinalizer.js';
import type { Logger } from '../shared/logger.js';
import type { OwnerStorage } from '../shared/OwnerStorage.js';
import { type ExecutionJobData, ownerOfJob } from '../shared/queues.js';
import type { LiveOutput } from './LiveOutput.js';
import type { TestCaseResult } from '../shared/contract/testCases.js';
import type { OutputStream } from './sandbox/SandboxProvider.js';
import { workerMetrics } from './workerMetrics.js';

type ExecutionJob = Job<ExecutionJobData, ExecutionOutcome>;
export type ExecutionProcessor = (job: ExecutionJob, token?: string, signal?: AbortSignal) => Promise<ExecutionOutcome>;

export interface LifecycleDeps {
  cancels: CancelRequests;
  events: ExecutionEvents;
  output: LiveOutput;
  finalizer: ExecutionFinalizer;
  /** Each owner's queued executions and stored bytes. */
  storage: OwnerStorage;
  logger: Logger;
}

/** The abort reason a stopping worker gives its running executions once its grace period is over. */
export const SHUTDOWN_ABORT = 'the worker is shutting down';

/** BullMQ's own rule: the attempt that fails now is the last when no attempt is left or the error says so. */
function isLastAttempt(job: ExecutionJob, error: unknown): boolean {
  return error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * What happens around each run of the processor: an execution that is final
 * already (a job retried or re-added after it ended) ends as it ended without
 * running, one cancelled before a worker took it is skipped, the live stream
 * hears `running` and the output, and once the outcome is known (or the last
 * attempt failed) the finalizer makes it final. Keeps track of what runs here, so
 * that cancel requests missed while Redis was away can be looked up again.
 * An execution aborted because its worker is shutting down (SHUTDOWN_ABORT)
 * does not end at all: it goes back to the queue for another worker.
 */
export class ExecutionLifecycle {
  private readonly running = new Set<string>();

  constructor(private readonly deps: LifecycleDeps) {}

  /** Executions this worker runs right now. */
  get active(): ReadonlySet<string> {
    return this.running;
  }

  readonly onOutput = (executionId: string, stream: OutputStream, chunk: Buffer): void => {
    this.deps.output.write(executionId, stream, chunk);
  };

  readonly onTestCase = (executionId: string, index: number, row: TestCaseResult): void => {
    this.deps.output.testCase(executionId, index, row);
  };

  wrap(processor: ExecutionProcessor): ExecutionProcessor {
    // Three declared parameters: BullMQ passes the AbortSignal only to processors that take one.
    return async (job: ExecutionJob, token?: string, signal?: AbortSignal) => {
      const id = String(job.id);
      const { request } = job.data;
      const { language } = request;
      this.running.add(id);
      this.deps.storage.leftQueue(ownerOfJob(job.data), id).catch((error: unknown) => this.deps.logger.debug({ executionId: id, err: error }, 'queued entry left behind'));
      try {
        // Both reads go out together: one round trip to Redis before the program runs, not two.
        const [final, cancelled] = await Promise.all([this.deps.finalizer.finalRecord(id), this.deps.cancels.isMarked(id)]);
        if (final) {
          this.deps.logger.info({ executionId: id, status: final.status }, 'execution is final already; not run again');
          const replay = replayOf(final);
          if ('failure' in replay) throw new UnrecoverableError(replay.failure);
          return replay.outcome;
        }
        // The API marks before it broadcasts, so a cancel either reached this job's signal or is seen here.
        if (cancelled) {
          this.deps.logger.info({ executionId: id }, 'execution cancelled before it started');
          await this.finish(job, CANCELLED_OUTCOME);
          return CANCELLED_OUTCOME;
        }
        this.deps.events.status(id, 'running').catch((error: unknown) => this.deps.logger.debug({ executionId: id, err: error }, 'live status dropped'));
        workerMetrics.queueWait.observe({ language }, Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp) / 1000);
        let outcome: ExecutionOutcome;
        try {
          outcome = await processor(job, token, signal);
        } catch (error) {
          this.deps.output.finish(id);
          if (isShutdownAbort(signal)) return await this.requeue(job, token);
          workerMetrics.attemptFailures.inc({ language, error: error instanceof Error ? error.name : 'unknown' });
          if (isLastAttempt(job, error)) {
            await this.finish(job, null).catch((finalizeError: unknown) =>
              this.deps.logger.warn({ executionId: id, err: finalizeError }, 'could not finalize the failed execution'),
            );
          }
          throw error;
        }
        this.deps.output.finish(id);
        // Killed by the shutdown, not by a user's cancel: it has not really run; another worker will.
        if (outcome.status === 'cancelled' && isShutdownAbort(signal)) return await this.requeue(job, token);
        if (!(await this.finish(job, outcome))) {
          // Another run of this job (its lock lapsed meanwhile) made it final first: that outcome stands.
          return (await this.deps.finalizer.finalRecord(id))?.outcome ?? outcome;
        }
        if (outcome.result) workerMetrics.duration.observe({ language, status: outcome.status }, outcome.result.durationMs / 1000);
        return outcome;
      } finally {
        this.running.delete(id);
      }
    };
  }

  /** Makes the execution final; only the call that did counts its stored bytes. Says whether this one did. */
  private async finish(job: ExecutionJob, outcome: ExecutionOutcome | null): Promise<boolean> {
    const won = await this.deps.finalizer.finalize(String(job.id), job.data.request, outcome);
    if (won) await this.stored(job, outcome);
    return won;
  }

  /**
   * Counts what the final job keeps in Redis from now on against its owner
   * (its request, and its outcome unless it failed). A miss only leaves the
   * owner's count lower; it never fails the execution.
   */
  private async stored(job: ExecutionJob, outcome: ExecutionOutcome | null): Promise<void> {
    await this.deps.storage
      .finished(ownerOfJob(job.data), job.timestamp, job.data.request, outcome)
      .catch((error: unknown) => this.deps.logger.warn({ executionId: job.id, err: error }, 'stored bytes not counted'));
  }

  /**
   * Hands the job back to the queue without an outcome: moved to wait, its
   * lock released, so another worker takes it at once. Should the move fail
   * (Redis away), the job stays active without a lock renewal and is taken
   * again once BullMQ finds it stalled. Never completes or fails the job.
   */
  private async requeue(job: ExecutionJob, token: string | undefined): Promise<never> {
    const id = String(job.id);
    try {
      if (token !== undefined) await job.moveToWait(token);
      this.deps.events.status(id, 'queued').catch(() => {});
      this.deps.logger.warn({ executionId: id }, 'execution handed back to the queue: the worker is shutting down');
    } catch (error) {
      this.deps.logger.warn({ executionId: id, err: error }, 'could not hand the execution back; it is retried once its lock lapses');
    }
    workerMetrics.requeued.inc();
    // BullMQ leaves a job alone (neither completed nor failed) when the processor throws this.
    throw new WaitingError();
  }
}

function isShutdownAbort(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason === SHUTDOWN_ABORT;
}
