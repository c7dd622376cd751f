/**
 * Spaces out operations to a rate: a token comes back every 1/rate seconds,
 * up to `burst` saved. Takers are served in order, so a steady stream of
 * requests never exceeds the rate in any window longer than the burst.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst = 1,
  ) {
    this.tokens = burst;
  }

  /** Resolves when a token is taken; rejects if `signal` aborts first (the token is then not taken). */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.next(signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async next(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.refill();
    if (this.tokens < 1) {
      await sleep(Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000), signal);
      this.refill();
    }
    // A timer may fire a hair early; the wait above was for a whole token.
    this.tokens = Math.max(this.tokens, 1) - 1;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.ratePerSecond);
    this.refilledAt = now;
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
