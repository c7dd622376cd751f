import type { Limits } from '../../shared/contract/limits.js';
import type { Logger } from '../../shared/logger.js';
import { poolMetrics } from './poolMetrics.js';
import type { Runtime, Sandbox, SandboxProvider, WarmSandbox } from './SandboxProvider.js';

export interface SandboxPoolOptions {
  /** Warm sandboxes kept per runtime; 0 turns the pool off. */
  size: number;
  runtimes: readonly Runtime[];
  /** A warm sandbox older than this is replaced by a fresh one. */
  maxIdleMs: number;
  /** How often idle sandboxes are checked (age, liveness). */
  healthIntervalMs: number;
  logger: Logger;
}

/** How long after a sandbox is taken its replacement starts, if its job has not ended by then. */
const REFILL_DELAY_MS = 100;
/** How long after a job's end its sandbox's replacement starts: time for the worker to store the outcome first. */
const AFTER_RESULT_DELAY_MS = 20;
/** After a failed start, wait this long (doubling up to the cap) before trying again. */
const RETRY_MS = { first: 500, max: 30_000 };

/**
 * Warm sandboxes per runtime, started ahead so that a job does not wait for
 * one. A sandbox is handed to exactly one job and never comes back; the pool
 * refills in the background as jobs finish. An empty pool never blocks: the job starts its
 * own sandbox. A sandbox that ends while idle is dropped at once (its exit
 * is an event) and is checked again when taken.
 */
export class SandboxPool {
  private readonly idle = new Map<Runtime, WarmSandbox[]>();
  private readonly starting = new Map<Runtime, number>();
  private readonly retryDelay = new Map<Runtime, number>();
  /** Pending retries and delayed refills, cleared by drain. */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly health: NodeJS.Timeout | undefined;
  private draining = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly provider: SandboxProvider,
    private readonly options: SandboxPoolOptions,
  ) {
    if (this.enabled) {
      this.health = setInterval(() => this.checkHealth(), options.healthIntervalMs);
      this.health.unref();
      for (const runtime of options.runtimes) this.refill(runtime);
    }
  }

  private get enabled(): boolean {
    return this.options.size > 0 && this.provider.canPrewarm;
  }

  /** Warm sandboxes waiting now, per runtime. */
  private warmCount(runtime: Runtime): number {
    return this.idle.get(runtime)?.length ?? 0;
  }

  /** A sandbox for one job with exactly its limits: a warm one when one can take them, else a new one. */
  async acquire(runtime: Runtime, limits: Limits): Promise<Sandbox> {
    const started = performance.now();
    const labels = { provider: this.provider.name, runtime };
    const queue = this.idle.get(runtime) ?? [];
    while (queue.length > 0) {
      const sandbox = queue.shift()!;
      this.updateGauge(runtime);
      if (await sandbox.claim(limits)) {
        poolMetrics.hits.inc(labels);
        poolMetrics.acquireSeconds.observe({ ...labels, source: 'warm' }, (performance.now() - started) / 1000);
        this.refillAfter(runtime, REFILL_DELAY_MS);
        return sandbox;
      }
      this.discard(sandbox, sandbox.alive ? 'cannot take limits' : 'died idle');
    }
    if (this.enabled && this.options.runtimes.includes(runtime)) poolMetrics.misses.inc(labels);
    this.refillAfter(runtime, REFILL_DELAY_MS);
    const sandbox = await this.provider.create(runtime, limits);
    poolMetrics.acquireSeconds.observe({ ...labels, source: 'new' }, (performance.now() - started) / 1000);
    return sandbox;
  }

  /**
   * Takes back a sandbox whose job is done: destroys it in the background
   * (drain waits for it) and starts its replacement shortly after. Refilling
   * here rather than when the job took the sandbox keeps the replacement's
   * start (a few process spawns and mounts) from competing with the job it
   * was taken for; the short delay keeps it from the job's last steps too
   * (its outcome stored, the client told), which wait on the event loop a
   * spawn holds.
   */
  release(sandbox: Sandbox): void {
    this.refillAfter(sandbox.runtime, AFTER_RESULT_DELAY_MS);
    const destroying = sandbox
      .destroy()
      .catch((error: unknown) => this.options.logger.warn({ err: error, runtime: sandbox.runtime }, 'could not destroy a used sandbox'))
      .finally(() => this.inFlight.delete(destroying));
    this.inFlight.add(destroying);
  }

  /** Stops refilling and destroys every idle sandbox, including those still starting or being destroyed. */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.health);
    for (const timer of this.retryTimers) clearTimeout(timer);
    await Promise.allSettled([...this.inFlight]);
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const runtime of this.options.runtimes) this.updateGauge(runtime);
    await Promise.allSettled(all.map((sandbox) => sandbox.destroy()));
  }

  /**
   * Refills `delayMs` from now. After a sandbox was taken (REFILL_DELAY_MS),
   * unless its job ends first: most jobs are short, and a sandbox start
   * (process spawns, an interpreter loading) competes with the job for the
   * CPU. After a job's end (AFTER_RESULT_DELAY_MS): its outcome is stored in
   * a few Redis round trips that wait on the event loop a spawn holds.
   */
  private refillAfter(runtime: Runtime, delayMs: number): void {
    if (!this.enabled || this.draining) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.refill(runtime);
    }, delayMs);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private refill(runtime: Runtime): void {
    if (!this.enabled || this.draining || !this.options.runtimes.includes(runtime)) return;
    const missing = this.options.size - this.warmCount(runtime) - (this.starting.get(runtime) ?? 0);
    for (let i = 0; i < missing; i++) this.startOne(runtime);
  }

  private startOne(runtime: Runtime): void {
    this.starting.set(runtime, (this.starting.get(runtime) ?? 0) + 1);
    const work = this.provider
      .prewarm(runtime)
      .then(
        (sandbox) => {
          this.retryDelay.delete(runtime);
          if (this.draining) return sandbox.destroy();
          const queue = this.idle.get(runtime) ?? [];
          queue.push(sandbox);
          this.idle.set(runtime, queue);
          sandbox.onExit(() => this.forget(sandbox, 'died idle'));
          this.updateGauge(runtime);
        },
        (error: unknown) => {
          const delay = Math.min((this.retryDelay.get(runtime) ?? RETRY_MS.first / 2) * 2, RETRY_MS.max);
          this.retryDelay.set(runtime, delay);
          this.options.logger.warn({ err: error, runtime, retryInMs: delay }, 'could not start a warm sandbox');
          const timer = setTimeout(() => {
            this.retryTimers.delete(timer);
            this.refill(runtime);
          }, delay);
          timer.unref();
          this.retryTimers.add(timer);
        },
      )
      .finally(() => {
        this.starting.set(runtime, (this.starting.get(runtime) ?? 1) - 1);
        this.inFlight.delete(work);
      });
    this.inFlight.add(work);
  }

  /** Drops an idle sandbox (if it is still idle) and starts a replacement. */
  private forget(sandbox: WarmSandbox, reason: string): void {
    const queue = this.idle.get(sandbox.runtime);
    const index = queue?.indexOf(sandbox) ?? -1;
    if (index < 0) return;
    queue!.splice(index, 1);
    this.updateGauge(sandbox.runtime);
    this.discard(sandbox, reason);
    this.refill(sandbox.runtime);
  }

  private discard(sandbox: WarmSandbox, reason: string): void {
    poolMetrics.discarded.inc({ provider: this.provider.name, runtime: sandbox.runtime, reason });
    if (reason === 'died idle') this.options.logger.warn({ runtime: sandbox.runtime }, 'a warm sandbox ended while idle; replaced');
    sandbox.destroy().catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not destroy a warm sandbox'));
  }

  private checkHealth(): void {
    for (const runtime of this.options.runtimes) this.refill(runtime);
    const now = Date.now();
    for (const queue of this.idle.values()) {
      for (const sandbox of [...queue]) {
        if (!sandbox.alive) this.forget(sandbox, 'died idle');
        else if (now - sandbox.startedAt > this.options.maxIdleMs) this.forget(sandbox, 'too old');
      }
    }
  }

  private updateGauge(runtime: Runtime): void {
    poolMetrics.warm.set({ provider: this.provider.name, runtime }, this.warmCount(runtime));
  }
}
