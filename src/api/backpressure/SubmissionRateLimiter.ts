import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ProblemError } from '../../shared/problems/ProblemError.js';

const WINDOW_SECONDS = 60;

/**
 * RATE_LIMIT_PER_MINUTE executions per API key, counted in Redis so that the
 * limit holds across every API instance. A batch counts each execution it
 * queues. A refused request gives its points back: only what is accepted
 * uses up the budget. With Redis away, consume fails at once (no waiting for
 * a reconnect) and the request is answered 503 like any other.
 */
export class SubmissionRateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    keyPrefix: string,
    private readonly perMinute: number,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points: perMinute,
      duration: WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
    });
  }

  async consume(owner: string, count: number): Promise<void> {
    if (count > this.perMinute) {
      throw new ProblemError('rate-limited', {
        detail: `This request holds ${count} executions; an API key may submit at most ${this.perMinute} a minute. Send fewer at once.`,
        retryAfterSeconds: WINDOW_SECONDS,
      });
    }
    try {
      await this.limiter.consume(owner, count);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      await this.giveBack(owner, count).catch(() => {});
      const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      throw new ProblemError('rate-limited', { detail: `This API key may submit ${this.perMinute} executions a minute; try again in ${seconds} s.`, retryAfterSeconds: seconds });
    }
  }

  /** Returns the points of executions refused after all. */
  async giveBack(owner: string, count: number): Promise<void> {
    await this.limiter.reward(owner, count);
  }
}
