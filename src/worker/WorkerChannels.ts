import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelRequests } from '../executions/CancelRequests.js';
import { executionKeys } from '../executions/executionKeys.js';
import { resultTtlSeconds, type Config } from '../shared/config.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import { ExecutionEvents } from '../executions/ExecutionEvents.js';
import { ExecutionFinalizer } from '../executions/ExecutionFinalizer.js';
import { ExecutionRecords } from '../executions/ExecutionRecords.js';
import type { Logger } from '../shared/logger.js';
import { OwnerStorage } from '../shared/OwnerStorage.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData, WEBHOOKS_QUEUE, type WebhookJobData } from '../shared/queues.js';
import { sandqKeys } from '../shared/redisKeys.js';
import { WebhookDeliveries } from '../executions/WebhookDeliveries.js';
import { CancelListener } from './CancelListener.js';
import { ExecutionLifecycle } from './ExecutionLifecycle.js';
import { LiveOutput } from './LiveOutput.js';
import { createWebhookProcessor, type WebhookResult } from './webhooks/createWebhookProcessor.js';

/**
 * A worker's ways to reach clients beyond the job's return value: live output
 * and status for SSE, cancellation from any API instance, and webhooks, which
 * it enqueues when an execution is final and delivers on their own queue with
 * their own concurrency (WEBHOOK_CONCURRENCY).
 */
export class WorkerChannels {
  private cancelListener: CancelListener | undefined;

  private constructor(
    readonly lifecycle: ExecutionLifecycle,
    private readonly cancels: CancelRequests,
    private readonly queues: Queue[],
    private readonly webhookWorker: Worker<WebhookJobData, WebhookResult> | undefined,
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  static create(config: Config, redis: Redis, logger: Logger): WorkerChannels {
    const keys = executionKeys(config.QUEUE_PREFIX);
    const ttl = resultTtlSeconds(config);
    const events = new ExecutionEvents(redis, keys, ttl);
    const cancels = new CancelRequests(redis, keys, ttl);
    const deliveries = new WebhookDeliveries(redis, keys, ttl);
    const webhooks = new Queue<WebhookJobData>(WEBHOOKS_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
    const executions = new Queue<ExecutionJobData, ExecutionOutcome>(EXECUTIONS_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
    for (const queue of [webhooks, executions]) queue.on('error', (error) => logger.warn({ err: error, queue: queue.name }, 'queue connection error'));

    const lifecycle = new ExecutionLifecycle({
      cancels,
      events,
      output: new LiveOutput(events, logger),
      finalizer: new ExecutionFinalizer({ redis, keys, webhooks, events, config }),
      storage: new OwnerStorage(redis, sandqKeys(config.QUEUE_PREFIX), ttl, executions.toKey('')),
      logger,
    });

    let webhookWorker: Worker<WebhookJobData, WebhookResult> | undefined;
    if (config.WEBHOOK_SECRET) {
      webhookWorker = new Worker<WebhookJobData, WebhookResult>(
        WEBHOOKS_QUEUE,
        createWebhookProcessor({
          records: new ExecutionRecords(executions, redis, keys, deliveries, ttl),
          deliveries,
          secret: config.WEBHOOK_SECRET,
          allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          logger,
        }),
        { connection: redis, prefix: config.QUEUE_PREFIX, concurrency: config.WEBHOOK_CONCURRENCY },
      );
      webhookWorker.on('error', (error) => logger.error({ err: error }, 'webhook worker error'));
    } else {
      // Deliveries wait in their queue for a worker that has the secret.
      logger.info('WEBHOOK_SECRET is not set: this worker does not deliver webhooks');
    }
    return new WorkerChannels(lifecycle, cancels, [webhooks, executions], webhookWorker, redis, logger);
  }

  /** Starts taking cancel requests for the executions `worker` runs. */
  async listenForCancels(worker: Worker<ExecutionJobData, ExecutionOutcome>): Promise<void> {
    this.cancelListener = await CancelListener.start(this.redis, {
      cancels: this.cancels,
      cancel: (executionId) => worker.cancelJob(executionId, 'cancelled by request'),
      active: () => this.lifecycle.active,
      logger: this.logger,
    });
  }

  /** After the executions worker: lets deliveries in flight finish. */
  async close(): Promise<void> {
    await this.cancelListener?.close();
    await this.webhookWorker?.close();
    await Promise.all(this.queues.map((queue) => queue.close()));
  }
}
