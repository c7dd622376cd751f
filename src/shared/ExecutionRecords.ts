import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionOutcome, ExecutionView } from './contract/execution.js';
import { toExecutionView } from './executionView.js';
import type { ExecutionJobData } from './queues.js';
import type { SandqKeys } from './redisKeys.js';
import { type WebhookDeliveries, webhookView } from './WebhookDeliveries.js';

/**
 * Reads executions for the API and for webhook delivery. An execution is its
 * job on the executions queue; one cancelled while queued has no job any more
 * (it was taken out of the queue) and is kept as a stored view instead.
 */
export class ExecutionRecords {
  constructor(
    private readonly queue: Queue<ExecutionJobData, ExecutionOutcome>,
    private readonly redis: Redis,
    private readonly keys: SandqKeys,
    private readonly deliveries: WebhookDeliveries,
    private readonly ttlSeconds: number,
  ) {}

  async read(executionId: string): Promise<ExecutionView | undefined> {
    // State first: once it says final, the job already holds its outcome (the
    // other order could see a final state with the job read before its outcome).
    const state = await this.queue.getJobState(executionId);
    const job = await this.queue.getJob(executionId);
    if (job) {
      const delivery = job.data.request.webhook ? await this.deliveries.read(executionId) : undefined;
      return toExecutionView(job, state, delivery);
    }
    const stored = await this.redis.get(this.keys.cancelled(executionId));
    if (!stored) return undefined;
    const view = JSON.parse(stored) as ExecutionView;
    if (!view.webhook) return view;
    return { ...view, webhook: webhookView(view.webhook.url, await this.deliveries.read(executionId)) };
  }

  async readMany(executionIds: string[]): Promise<(ExecutionView | undefined)[]> {
    return await Promise.all(executionIds.map((id) => this.read(id)));
  }

  /** Keeps a cancelled execution's view before its job is taken out of the queue. */
  async keepCancelled(view: ExecutionView): Promise<void> {
    await this.redis.set(this.keys.cancelled(view.id), JSON.stringify(view), 'EX', this.ttlSeconds);
  }

  async forgetCancelled(executionId: string): Promise<void> {
    await this.redis.del(this.keys.cancelled(executionId));
  }
}
