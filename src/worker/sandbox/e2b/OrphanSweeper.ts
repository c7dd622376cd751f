import type { Logger } from '../../../shared/logger.js';
import type { E2BControlPlane } from './E2BControlPlane.js';
import { DEPLOYMENT_KEY, WORKER_KEY } from './sandboxMetadata.js';

export interface OrphanSweeperOptions {
  controlPlane: E2BControlPlane;
  deploymentName: string;
  workerId: string;
  /** The ids of the workers announced in Redis now; throws when Redis cannot say. */
  liveWorkers: () => Promise<ReadonlySet<string>>;
  /** Whether this worker still holds the sandbox. */
  holds: (sandboxId: string) => boolean;
  /** A sandbox younger than this is left alone: its worker may not have announced itself yet. */
  graceMs: number;
  intervalMs: number;
  logger: Logger;
}

/**
 * Kills the deployment's E2B sandboxes that nobody holds: those of workers
 * whose announcement is gone (crashed, or stopped without cleaning up), and
 * this worker's own that it lost track of (a creation that timed out on our
 * side but succeeded on E2B's). Runs at start and every `intervalMs`. When
 * Redis cannot list the workers, nothing is killed.
 */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly options: OrphanSweeperOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.options.logger.warn({ err: error }, 'the E2B leak sweep failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** No more passes; one under way is not waited for (it may be waiting on Redis). */
  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass; resolves to the number of sandboxes killed. */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const { controlPlane, deploymentName, workerId, graceMs, logger } = this.options;
    const sandboxes = await controlPlane.list({ [DEPLOYMENT_KEY]: deploymentName });
    const live = await this.options.liveWorkers();
    const now = Date.now();
    const orphans = sandboxes.filter((sandbox) => {
      if (now - sandbox.startedAt.getTime() < graceMs) return false;
      const owner = sandbox.metadata[WORKER_KEY];
      if (owner === workerId) return !this.options.holds(sandbox.sandboxId);
      return owner === undefined || !live.has(owner);
    });
    let killed = 0;
    for (const orphan of orphans) {
      try {
        if (await controlPlane.kill(orphan.sandboxId)) killed++;
        logger.warn({ sandboxId: orphan.sandboxId, worker: orphan.metadata[WORKER_KEY], startedAt: orphan.startedAt }, 'killed an E2B sandbox no live worker holds');
      } catch (error) {
        logger.warn({ sandboxId: orphan.sandboxId, err: error }, 'could not kill an orphaned E2B sandbox');
      }
    }
    return killed;
  }
}
