import type { Redis } from 'ioredis';
import type { ExecutionKeys } from './executionKeys.js';

/**
 * Cancellation across processes and hosts. BullMQ's own cancelJob reaches
 * only jobs running in the calling process, so the API marks the execution
 * (a key, for a worker that picks the job up after the fact) and then
 * publishes its id on a channel every worker listens to.
 */
export class CancelRequests {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ExecutionKeys,
    private readonly ttlSeconds: number,
  ) {}

  get channel(): string {
    return this.keys.cancelChannel;
  }

  /** Marks first, so a worker that starts the job after this sees the mark. */
  async mark(executionId: string): Promise<void> {
    await this.redis.set(this.keys.cancelFlag(executionId), String(Date.now()), 'EX', this.ttlSeconds);
  }

  async isMarked(executionId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelFlag(executionId))) === 1;
  }

  /** Tells every worker; the one running the execution aborts it. */
  async broadcast(executionId: string): Promise<void> {
    await this.redis.publish(this.keys.cancelChannel, executionId);
  }
}
