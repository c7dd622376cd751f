import { UnrecoverableError } from 'bullmq';

/**
 * A provider fault that retrying cannot fix, such as credentials the
 * provider rejects. The processor ends the execution as `error` with this
 * code instead of throwing; and should it escape elsewhere, BullMQ does not
 * retry an UnrecoverableError, so a bad key never turns into a retry storm.
 */
export class UnrecoverableProviderError extends UnrecoverableError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnrecoverableProviderError';
  }
}
