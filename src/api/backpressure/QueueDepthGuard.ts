import type { Queue } from 'bullmq';
import { ProblemError } from '../../shared/problems/ProblemError.js';

/** Depth is read at most this often; between reads this instance counts what it admits. */
const CACHE_MS = 250;

/**
 * Refuses new executions while the queue holds MAX_QUEUE_DEPTH or more that
 * no worker has taken yet (waiting + prioritized + delayed). The figure is
 * read from Redis at most every 250 ms, concurrent requests sharing one read,
 * so intake costs no extra round trip per request. Between reads, executions
 * this instance has admitted (queued, or on their way) are counted on top, so
 * a burst cannot overshoot the limit.
 */
export class QueueDepthGuard {
  /** Waiting + prioritized + delayed at the last read. */
  private base = 0;
  /** Queued by this instance since that read began. */
  private added = 0;
  /** Admitted, not queued (or given up) yet. */
  private inFlight = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly max: number,
  ) {}

  /** Reserves room for `count` executions, or throws queue-full when they would take the queue past its maximum. */
  async reserve(count: number): Promise<void> {
    await this.refresh();
    // Synchronously from here: the next request of the same burst sees this one's reservation.
    const depth = this.base + this.added + this.inFlight;
    if (depth + count > this.max) {
      throw new ProblemError('queue-full', { detail: `${depth} executions are waiting for a worker (the limit is ${this.max}); try again shortly.` });
    }
    this.inFlight += count;
  }

  /** Ends a reservation: the executions were queued, or were not after all. */
  settle(count: number, queued: boolean): void {
    this.inFlight = Math.max(0, this.inFlight - count);
    if (queued) this.added += count;
  }

  private async refresh(): Promise<void> {
    if (performance.now() - this.readAt < CACHE_MS) return;
    this.reading ??= (async () => {
      const addedBefore = this.added;
      const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed');
      // Executions queued while the read ran may or may not be in it: they stay counted (at worst, refused a little early).
      this.added -= addedBefore;
      this.base = Object.values(counts).reduce((sum, n) => sum + n, 0);
      this.readAt = performance.now();
    })().finally(() => (this.reading = undefined));
    await this.reading;
  }
}
