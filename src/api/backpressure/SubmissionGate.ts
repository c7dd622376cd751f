import { apiMetrics } from '../apiMetrics.js';
import { ProblemError } from '../errors/ProblemError.js';
import type { QueueDepthGuard } from './QueueDepthGuard.js';
import type { SubmissionRateLimiter } from './SubmissionRateLimiter.js';

/**
 * What an execution passes before it is queued: room in the queue (503
 * otherwise), then the owner's rate (429). Depth first, so that a full queue
 * does not use up anyone's rate. Either check may be off (undefined).
 * Executions refused, or not queued after all, give their room back.
 */
export class SubmissionGate {
  constructor(
    private readonly depth: QueueDepthGuard | undefined,
    private readonly rate: SubmissionRateLimiter | undefined,
  ) {}

  async admit(owner: string, count: number): Promise<void> {
    try {
      await this.depth?.reserve(count);
    } catch (error) {
      if (error instanceof ProblemError) apiMetrics.rejected.inc({ reason: 'queue_full', owner }, count);
      throw error;
    }
    try {
      await this.rate?.consume(owner, count);
    } catch (error) {
      this.depth?.settle(count, false);
      if (error instanceof ProblemError) apiMetrics.rejected.inc({ reason: 'rate_limited', owner }, count);
      throw error;
    }
  }

  /** After admitted executions were queued. */
  queued(count: number): void {
    this.depth?.settle(count, true);
  }

  /** When admitted executions could not be queued. */
  notQueued(count: number): void {
    this.depth?.settle(count, false);
  }
}
