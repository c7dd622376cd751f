import type { Queue } from 'bullmq';
import type { Config } from './config.js';
import type { FinalStatus } from './contract/execution.js';
import type { ExecutionRequest } from './contract/executionRequest.js';
import type { ExecutionEvents } from './ExecutionEvents.js';
import { WEBHOOK_EVENT, type WebhookJobData, webhookJobOptions } from './queues.js';

/**
 * What happens once an execution is final, wherever that is decided (the
 * worker's processor, its last failed attempt, the API cancelling a queued
 * one): its webhook is enqueued and its live stream ends. Both are safe to
 * repeat: the delivery's job id is derived from the execution id.
 */
export class FinalStateNotifier {
  constructor(
    private readonly webhooks: Queue<WebhookJobData>,
    private readonly events: ExecutionEvents,
    private readonly config: Config,
  ) {}

  async finished(executionId: string, request: ExecutionRequest, status: FinalStatus): Promise<void> {
    if (request.webhook) {
      await this.webhooks.add(
        WEBHOOK_EVENT,
        { executionId, url: request.webhook.url, event: WEBHOOK_EVENT },
        webhookJobOptions(this.config, executionId),
      );
    }
    await this.events.end(executionId, status);
  }
}
