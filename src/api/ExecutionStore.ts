import type { Job, Queue, QueueEvents } from 'bullmq';
import type { ExecutionOutcome, ExecutionView } from '../shared/contract/execution.js';
import type { ExecutionRequest } from '../shared/contract/executionRequest.js';
import type { Config } from '../shared/config.js';
import { isFinalState, toExecutionView } from '../shared/executionView.js';
import { newExecutionId } from '../shared/ids.js';
import { type ExecutionJobData, executionJobOptions } from '../shared/queues.js';

export type ExecutionQueue = Queue<ExecutionJobData, ExecutionOutcome>;

/** Executions as the API sees them: jobs on the executions queue, read through their state. */
export class ExecutionStore {
  constructor(
    private readonly queue: ExecutionQueue,
    private readonly queueEvents: QueueEvents,
    private readonly config: Config,
  ) {}

  async submit(request: ExecutionRequest): Promise<ExecutionView> {
    const id = newExecutionId();
    const job = await this.queue.add(
      'execute',
      { request, provider: request.provider ?? this.config.SANDBOX_PROVIDER },
      executionJobOptions(this.config, id, request.priority),
    );
    return toExecutionView(job, 'waiting');
  }

  async get(id: string): Promise<ExecutionView | undefined> {
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    return toExecutionView(job, await job.getState());
  }

  /**
   * Like `get`, but when the execution is not final yet, waits up to `waitMs`
   * for it to finish: woken by QueueEvents, not by polling. A failed attempt
   * that will be retried wakes the wait too, so it waits again for what is left.
   */
  async waitForFinal(id: string, waitMs: number, signal: AbortSignal): Promise<ExecutionView | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const job = await this.queue.getJob(id);
      if (!job) return undefined;
      const state = await job.getState();
      const remaining = deadline - Date.now();
      if (isFinalState(state) || remaining <= 0 || signal.aborted) return toExecutionView(job, state);
      await Promise.race([this.finished(job, remaining), aborted(signal)]);
    }
  }

  private async finished(job: Job<ExecutionJobData, ExecutionOutcome>, ttl: number): Promise<void> {
    await job.waitUntilFinished(this.queueEvents, ttl).catch(() => {});
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
