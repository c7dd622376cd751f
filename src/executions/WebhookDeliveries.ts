import type { Redis } from 'ioredis';
import type { WebhookDeliveryStatus, WebhookDeliveryView } from '../shared/contract/execution.js';
import type { ExecutionKeys } from './executionKeys.js';

export type WebhookDeliveryState = Omit<WebhookDeliveryView, 'url'>;

const PENDING: WebhookDeliveryState = { status: 'pending', attempts: 0, lastError: null };

function parse(hash: Record<string, string>): WebhookDeliveryState {
  if (!hash.status) return PENDING;
  return {
    status: hash.status as WebhookDeliveryStatus,
    attempts: Number(hash.attempts ?? 0),
    lastError: hash.lastError || null,
  };
}

/**
 * A small hash per execution with its webhook's state, kept as long as the
 * execution. Kept apart from the delivery job so that GET reads it in one
 * command, it carries every attempt's error (the job only knows the last
 * one), and it outlives the job's own clean-up.
 */
export class WebhookDeliveries {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ExecutionKeys,
    private readonly ttlSeconds: number,
  ) {}

  async read(executionId: string): Promise<WebhookDeliveryState> {
    return parse(await this.redis.hgetall(this.keys.webhook(executionId)));
  }

  /** Counts one HTTP attempt and says where the delivery stands after it. */
  async recordAttempt(executionId: string, status: WebhookDeliveryStatus, error: string | null): Promise<void> {
    const key = this.keys.webhook(executionId);
    const multi = this.redis.multi().hincrby(key, 'attempts', 1).hset(key, 'status', status);
    if (error !== null) multi.hset(key, 'lastError', error.slice(0, 1000));
    await multi.expire(key, this.ttlSeconds).exec();
  }

  /** Ends the delivery without an attempt (e.g. the target was refused before any request). */
  async settle(executionId: string, status: WebhookDeliveryStatus, error: string): Promise<void> {
    const key = this.keys.webhook(executionId);
    await this.redis.multi().hset(key, 'status', status, 'lastError', error.slice(0, 1000)).expire(key, this.ttlSeconds).exec();
  }
}

export function webhookView(url: string | undefined, state: WebhookDeliveryState | undefined): WebhookDeliveryView | null {
  return url === undefined ? null : { url, ...(state ?? PENDING) };
}
