import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionOutcome, ExecutionView } from '../shared/contract/execution.js';
import { toExecutionView } from './executionView.js';
import { type ExecutionJobData, ownerOfJob } from '../shared/queues.js';
import type { ExecutionKeys } from './executionKeys.js';
import { type WebhookDeliveries, webhookView } from './WebhookDeliveries.js';

/** An execution with the name of the API key it belongs to. */
export interface OwnedExecution {
  owner: string;
  view: ExecutionView;
}

/**
 * Reads executions for the API and for webhook delivery. An execution is its
 * job on the executions queue; one cancelled while queued has no job any more
 * (it was taken out of the queue) and is kept as a stored view instead.
 */
export class ExecutionRecords {
  constructor(
    private readonly queue: Queue<ExecutionJobData, ExecutionOutcome>,
    private readonly redis: Redis,
    private readonly keys: ExecutionKeys,
    private readonly deliveries: WebhookDeliveries,
    private readonly ttlSeconds: number,
  ) {}

  async read(executionId: string): Promise<ExecutionView | undefined> {
    return (await this.readOwned(executionId))?.view;
  }

  /** The execution and its owner; the API shows it only to that owner. */
  async readOwned(executionId: string): Promise<OwnedExecution | undefined> {
    // State first: once it says final, the job already holds its outcome (the
    // other order could see a final state with the job read before its outcome).
    const state = await this.queue.getJobState(executionId);
    const job = await this.queue.getJob(executionId);
    if (job) {
      const delivery = job.data.request.webhook ? await this.deliveries.read(executionId) : undefined;
      return { owner: ownerOfJob(job.data), view: toExecutionView(job, state, delivery) };
    }
    const stored = await this.redis.get(this.keys.cancelled(executionId));
    if (!stored) return undefined;
    const { owner, view } = JSON.parse(stored) as OwnedExecution;
    if (!view.webhook) return { owner, view };
    return { owner, view: { ...view, webhook: webhookView(view.webhook.url, await this.deliveries.read(executionId)) } };
  }

  async readManyOwned(executionIds: string[]): Promise<(OwnedExecution | undefined)[]> {
    return await Promise.all(executionIds.map((id) => this.readOwned(id)));
  }

  /** Keeps a cancelled execution's view (and owner) before its job is taken out of the queue. */
  async keepCancelled(owner: string, view: ExecutionView): Promise<void> {
    const stored: OwnedExecution = { owner, view };
    await this.redis.set(this.keys.cancelled(view.id), JSON.stringify(stored), 'EX', this.ttlSeconds);
  }

  async forgetCancelled(executionId: string): Promise<void> {
    await this.redis.del(this.keys.cancelled(executionId));
  }
}
