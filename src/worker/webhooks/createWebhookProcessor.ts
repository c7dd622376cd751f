import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { isFinalStatus } from '../../shared/contract/execution.js';
import type { ExecutionRecords } from '../../executions/ExecutionRecords.js';
import type { Logger } from '../../shared/logger.js';
import type { WebhookJobData } from '../../shared/queues.js';
import type { WebhookDeliveries } from '../../executions/WebhookDeliveries.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook } from '../../shared/webhookSignature.js';
import { workerMetrics } from '../workerMetrics.js';
import { postWebhook } from './postWebhook.js';
import { RefusedTargetError } from './RefusedTargetError.js';
import { resolveWebhookTarget } from './resolveWebhookTarget.js';

export interface WebhookProcessorDeps {
  records: ExecutionRecords;
  deliveries: WebhookDeliveries;
  secret: string;
  allowPrivate: boolean;
  timeoutMs: number;
  logger: Logger;
}

export type WebhookResult = { status: number } | { skipped: string };

/** The webhook is enqueued just before its execution's job is marked final; look again this soon. */
const NOT_FINAL_YET_DELAY_MS = 500;

const USER_AGENT = 'sandq-webhooks/1';

/**
 * Delivers one webhook: 2xx ends it, 410 Gone stops it, anything else
 * (including a redirect, which is not followed, and a timeout) is thrown so
 * that BullMQ retries it with exponential backoff. Every attempt is recorded
 * in the execution's delivery state.
 */
export function createWebhookProcessor(deps: WebhookProcessorDeps) {
  return async (job: Job<WebhookJobData, WebhookResult>, token?: string): Promise<WebhookResult> => {
    const { executionId, event } = job.data;
    const log = deps.logger.child({ executionId, deliveryId: job.id, attempt: job.attemptsMade + 1 });
    const view = await deps.records.read(executionId);
    if (!view) {
      await deps.deliveries.settle(executionId, 'failed', 'the execution no longer exists');
      workerMetrics.webhookDeliveries.inc({ outcome: 'skipped' });
      return { skipped: 'the execution no longer exists' };
    }
    if (!isFinalStatus(view.status)) {
      await job.moveToDelayed(Date.now() + NOT_FINAL_YET_DELAY_MS, token);
      throw new DelayedError();
    }

    // The body is the execution; its own delivery state would be stale on arrival.
    const { webhook: _delivery, ...execution } = view;
    const body = JSON.stringify(execution);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const url = new URL(job.data.url);
    try {
      const target = await resolveWebhookTarget(url, deps.allowPrivate);
      const answer = await postWebhook({
        url,
        target,
        body,
        timeoutMs: deps.timeoutMs,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': USER_AGENT,
          [EVENT_HEADER]: event,
          [DELIVERY_HEADER]: String(job.id),
          [SIGNATURE_HEADER]: signWebhook(deps.secret, body),
        },
      });
      if (answer.status >= 200 && answer.status < 300) {
        await deps.deliveries.recordAttempt(executionId, 'delivered', null);
        workerMetrics.webhookDeliveries.inc({ outcome: 'delivered' });
        log.info({ status: answer.status }, 'webhook delivered');
        return { status: answer.status };
      }
      if (answer.status === 410) {
        const reason = 'the receiver answered 410 Gone; not retried';
        await deps.deliveries.recordAttempt(executionId, 'failed', reason);
        workerMetrics.webhookDeliveries.inc({ outcome: 'gone' });
        log.info({ status: 410 }, 'webhook refused by the receiver (410 Gone)');
        throw new UnrecoverableError(reason);
      }
      const redirect = answer.status >= 300 && answer.status < 400;
      throw new Error(`the receiver answered ${answer.status}${redirect ? ` (a redirect to ${answer.location ?? 'nowhere'}; redirects are not followed)` : ''}`);
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof RefusedTargetError) {
        await deps.deliveries.settle(executionId, 'failed', message);
        workerMetrics.webhookDeliveries.inc({ outcome: 'refused' });
        log.warn({ reason: message }, 'webhook target refused');
        throw new UnrecoverableError(message);
      }
      await deps.deliveries.recordAttempt(executionId, lastAttempt ? 'failed' : 'pending', message);
      workerMetrics.webhookDeliveries.inc({ outcome: lastAttempt ? 'failed' : 'retried' });
      log.info({ reason: message, lastAttempt }, 'webhook attempt failed');
      throw error;
    }
  };
}
