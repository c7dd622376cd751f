import type { QueuedExecution } from '../../shared/OwnerStorage.js';
import { apiMetrics } from '../apiMetrics.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';
import type { QueueDepthGuard } from './QueueDepthGuard.js';
import type { SubmissionRateLimiter } from './SubmissionRateLimiter.js';
import type { StorageQuota, StorageReservation } from './StorageQuota.js';

/** Executions the gate let through, until they are queued or given back. */
export interface Admission {
  count: number;
  storage: StorageReservation;
}

/**
 * What an execution passes before it is queued: room in the queue (503
 * otherwise), the owner's rate (429), then the owner's storage: bytes (507)
 * and queued executions (429). Depth first, so that a full queue does not
 * use up anyone's rate; storage last, as it writes what it counts. Depth
 * and rate may be off (undefined). Executions refused, or not queued after
 * all, give back what they took.
 */
export class SubmissionGate {
  constructor(
    private readonly depth: QueueDepthGuard | undefined,
    private readonly rate: SubmissionRateLimiter | undefined,
    private readonly storage: StorageQuota,
  ) {}

  async admit(owner: string, executions: QueuedExecution[]): Promise<Admission> {
    const count = executions.length;
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
    try {
      return { count, storage: await this.storage.reserve(owner, executions) };
    } catch (error) {
      this.depth?.settle(count, false);
      await this.rate?.giveBack(owner, count).catch(() => {});
      if (error instanceof ProblemError) apiMetrics.rejected.inc({ reason: error.slug === 'storage-quota-exceeded' ? 'storage_full' : 'too_many_queued', owner }, count);
      throw error;
    }
  }

  /** After admitted executions were queued. */
  queued(admission: Admission): void {
    this.depth?.settle(admission.count, true);
  }

  /** When admitted executions could not be queued. */
  async notQueued(admission: Admission): Promise<void> {
    this.depth?.settle(admission.count, false);
    await this.storage.release(admission.storage);
  }
}
