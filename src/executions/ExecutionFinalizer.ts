import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { resultTtlSeconds, type Config } from '../shared/config.js';
import type { ExecutionOutcome, FinalStatus } from '../shared/contract/execution.js';
import type { ExecutionRequest } from '../shared/contract/executionRequest.js';
import { WEBHOOK_EVENT, type WebhookJobData, webhookJobOptions } from '../shared/queues.js';
import type { ExecutionEvents } from './ExecutionEvents.js';
import { executionMetrics } from './executionMetrics.js';
import type { ExecutionKeys } from './executionKeys.js';

/**
 * How an execution ended, as its claim keeps it. `outcome` is null when the
 * service failed to run it (its job failed): there is no outcome to return.
 */
export interface FinalRecord {
  status: FinalStatus;
  outcome: ExecutionOutcome | null;
}

/** The outcome of an execution cancelled before it ran, wherever it was cancelled. */
export const CANCELLED_OUTCOME: ExecutionOutcome = { status: 'cancelled', result: null, error: null };

/** The record of an outcome; null (the job failed for good) is `error`. */
export function finalRecordOf(outcome: ExecutionOutcome | null): FinalRecord {
  return { status: outcome?.status ?? 'error', outcome };
}

/** Reads a stored claim; anything unreadable is no claim. */
export function parseFinalRecord(stored: string | null): FinalRecord | undefined {
  if (stored === null) return undefined;
  try {
    const parsed = JSON.parse(stored) as Partial<FinalRecord>;
    return typeof parsed.status === 'string' ? { status: parsed.status, outcome: parsed.outcome ?? null } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a job run again after its execution is final ends with: the outcome it
 * had, or, when the service failed it, a failure again (the job stays failed).
 */
export function replayOf(record: FinalRecord): { outcome: ExecutionOutcome } | { failure: string } {
  return record.outcome ? { outcome: record.outcome } : { failure: 'the execution is final already (it failed); it is not run again' };
}

export interface FinalizerDeps {
  redis: Redis;
  keys: ExecutionKeys;
  webhooks: Queue<WebhookJobData>;
  events: ExecutionEvents;
  config: Config;
}

/**
 * The one place where an execution becomes final, whichever process decides
 * it (the worker's processor or its last failed attempt, the API cancelling a
 * queued execution, an API instance hearing that BullMQ failed a job that
 * stalled too often). The first caller claims the execution with one SET NX, under the
 * queue prefix and so in its Redis Cluster slot; only that caller counts the
 * outcome, enqueues the webhook and ends the live stream. Every later caller,
 * in this process or any other, finds the claim and does nothing.
 *
 * The claim keeps the outcome, so that a job run again after it is final
 * (a retry from Bull Board, a re-add) gives back the same outcome without
 * running the user's code.
 */
export class ExecutionFinalizer {
  constructor(private readonly deps: FinalizerDeps) {}

  /** Makes the execution final with `outcome` (null: the service failed it). Says whether this call did it. */
  async finalize(executionId: string, request: ExecutionRequest, outcome: ExecutionOutcome | null): Promise<boolean> {
    const { redis, keys, config, webhooks, events } = this.deps;
    const record = finalRecordOf(outcome);
    // Twice the result TTL: the job's own TTL starts when it finishes, which is after this.
    const claimed = await redis.set(keys.final(executionId), JSON.stringify(record), 'EX', resultTtlSeconds(config) * 2, 'NX');
    if (claimed !== 'OK') return false;
    executionMetrics.finished.inc({ status: record.status, language: request.language });
    if (request.webhook) {
      await webhooks.add(WEBHOOK_EVENT, { executionId, url: request.webhook.url, event: WEBHOOK_EVENT }, webhookJobOptions(config, executionId));
    }
    await events.end(executionId, record.status);
    return true;
  }

  /** How the execution ended, once it has. */
  async finalRecord(executionId: string): Promise<FinalRecord | undefined> {
    return parseFinalRecord(await this.deps.redis.get(this.deps.keys.final(executionId)));
  }
}
