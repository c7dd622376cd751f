import { type Job, UnrecoverableError } from 'bullmq';
import type { CancelRequests } from '../shared/CancelRequests.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import type { ExecutionEvents } from '../shared/ExecutionEvents.js';
import type { FinalStateNotifier } from '../shared/FinalStateNotifier.js';
import type { Logger } from '../shared/logger.js';
import type { ExecutionJobData } from '../shared/queues.js';
import type { LiveOutput } from './LiveOutput.js';
import type { OutputStream } from './sandbox/SandboxProvider.js';

type ExecutionJob = Job<ExecutionJobData, ExecutionOutcome>;
export type ExecutionProcessor = (job: ExecutionJob, token?: string, signal?: AbortSignal) => Promise<ExecutionOutcome>;

export interface LifecycleDeps {
  cancels: CancelRequests;
  events: ExecutionEvents;
  output: LiveOutput;
  notifier: FinalStateNotifier;
  logger: Logger;
}

const CANCELLED: ExecutionOutcome = { status: 'cancelled', result: null, error: null };

/** BullMQ's own rule: the attempt that fails now is the last when no attempt is left or the error says so. */
function isLastAttempt(job: ExecutionJob, error: unknown): boolean {
  return error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * What happens around each run of the processor: an execution cancelled
 * before a worker took it is skipped, the live stream hears `running` and the
 * output, and once the outcome is known (or the last attempt failed) the
 * webhook is enqueued and the stream ended. Keeps track of what runs here, so
 * that cancel requests missed while Redis was away can be looked up again.
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

  wrap(processor: ExecutionProcessor): ExecutionProcessor {
    // Three declared parameters: BullMQ passes the AbortSignal only to processors that take one.
    return async (job: ExecutionJob, token?: string, signal?: AbortSignal) => {
      const id = String(job.id);
      const { request } = job.data;
      this.running.add(id);
      try {
        // The API marks before it broadcasts, so a cancel either reached this job's signal or is seen here.
        if (await this.deps.cancels.isMarked(id)) {
          this.deps.logger.info({ executionId: id }, 'execution cancelled before it started');
          await this.deps.notifier.finished(id, request, 'cancelled');
          return CANCELLED;
        }
        this.deps.events.status(id, 'running').catch((error: unknown) => this.deps.logger.debug({ executionId: id, err: error }, 'live status dropped'));
        let outcome: ExecutionOutcome;
        try {
          outcome = await processor(job, token, signal);
        } catch (error) {
          this.deps.output.finish(id);
          if (isLastAttempt(job, error)) {
            await this.deps.notifier.finished(id, request, 'error').catch((notifyError: unknown) =>
              this.deps.logger.warn({ executionId: id, err: notifyError }, 'could not announce the failed execution'),
            );
          }
          throw error;
        }
        this.deps.output.finish(id);
        await this.deps.notifier.finished(id, request, outcome.status);
        return outcome;
      } finally {
        this.running.delete(id);
      }
    };
  }
}
