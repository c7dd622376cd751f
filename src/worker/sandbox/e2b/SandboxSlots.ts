interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The sandboxes this worker may hold at once (E2B_MAX_CONCURRENT_SANDBOXES):
 * E2B's plan caps running sandboxes, not only their creation. A slot is
 * taken before a sandbox is created and given back once it is killed. A
 * returned slot goes to the first job waiting for one, and only when no job
 * waits to the pool, so that warm sandboxes never keep a job out.
 */
export class SandboxSlots {
  private used = 0;
  private readonly jobs: Waiter[] = [];
  private readonly pool: Waiter[] = [];

  constructor(private readonly capacity: number) {}

  /** Jobs waiting for a slot now. */
  get waiting(): number {
    return this.jobs.length;
  }

  tryTake(): boolean {
    if (this.used >= this.capacity) return false;
    this.used++;
    return true;
  }

  /** Waits for a slot, in order; `forPool` waits behind every job. */
  take(signal?: AbortSignal, forPool = false): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    const queue = forPool ? this.pool : this.jobs;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(signal!.reason as Error);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /** A slot comes back: the first waiting job gets it, else the pool, else it is free again. */
  give(): void {
    const next = this.jobs.shift() ?? this.pool.shift();
    if (next) next.resolve();
    else this.used = Math.max(0, this.used - 1);
  }
}
