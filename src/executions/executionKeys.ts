import { sandqKeyBase } from '../shared/redisKeys.js';

/** An execution's keys beside its BullMQ job, under the queue prefix (and its hash tag) like every sandq key. */
export function executionKeys(queuePrefix: string) {
  const base = sandqKeyBase(queuePrefix);
  return {
    /** Pub/sub channel every worker listens on; a message is an execution id to cancel. */
    cancelChannel: `${base}:cancel`,
    /** Set when a cancel is asked, so a worker that picks the job up afterwards skips it. */
    cancelFlag: (executionId: string) => `${base}:cancel:${executionId}`,
    /** Claimed once when the execution becomes final; holds how it ended (see ExecutionFinalizer). */
    final: (executionId: string) => `${base}:final:${executionId}`,
    /** The execution as it was when cancelled in the queue (its job is removed). */
    cancelled: (executionId: string) => `${base}:cancelled:${executionId}`,
    /** Redis Stream of live events (status, output chunks, end) for SSE. */
    events: (executionId: string) => `${base}:events:${executionId}`,
    /** Hash with the webhook delivery's state. */
    webhook: (executionId: string) => `${base}:webhook:${executionId}`,
    /** Idempotency-Key → body hash and execution id. */
    idempotency: (scope: string, keyHash: string) => `${base}:idempotency:${scope}:${keyHash}`,
    /** Sorted set of one owner's executions by creation time, for listing. */
    index: (owner: string) => `${base}:index:${owner}`,
  };
}

export type ExecutionKeys = ReturnType<typeof executionKeys>;
