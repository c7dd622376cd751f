import type { OwnerStorage, QueuedExecution, Reservation, StorageLimits } from '../../shared/OwnerStorage.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';

export type StorageReservation = Reservation & { kind: 'reserved' };

/**
 * What one API key may keep in Redis, across every API instance and worker:
 * MAX_STORED_BYTES_PER_KEY of requests and results (507 past it), and
 * MAX_QUEUED_PER_KEY executions waiting for a worker (429). Both are checked
 * and counted in one Redis round trip (OwnerStorage.reserve).
 */
export class StorageQuota {
  constructor(
    private readonly storage: OwnerStorage,
    private readonly limits: StorageLimits,
  ) {}

  /** Counts the executions against the owner's limits, or throws the problem that refuses them. */
  async reserve(owner: string, executions: QueuedExecution[]): Promise<StorageReservation> {
    const reservation = await this.storage.reserve(owner, executions, this.limits);
    switch (reservation.kind) {
      case 'reserved':
        return reservation;
      case 'storage-full': {
        const needed = executions.reduce((sum, e) => sum + e.bytes, 0);
        throw new ProblemError('storage-quota-exceeded', {
          detail: `This API key stores ${reservation.storedBytes} bytes of requests and results (kept RESULT_TTL_MS); this request needs ${needed} more, past MAX_STORED_BYTES_PER_KEY (${this.limits.maxStoredBytes}). Room frees as results expire.`,
        });
      }
      case 'too-many-queued':
        throw new ProblemError('too-many-queued-executions', {
          detail: `This API key has ${reservation.queued} executions waiting for a worker; MAX_QUEUED_PER_KEY allows ${this.limits.maxQueued}, and this request adds ${executions.length}. Retry once some have started.`,
        });
    }
  }

  /** Gives the reservation back: its executions were not queued after all. */
  async release(reservation: StorageReservation): Promise<void> {
    await this.storage.unreserve(reservation);
  }
}
