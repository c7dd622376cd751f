/**
 * Keys sandq keeps in Redis beside BullMQ's own. All live under QUEUE_PREFIX,
 * so deployments sharing one Redis stay apart, and a hash tag in the prefix
 * (QUEUE_PREFIX={sandq}) puts them and BullMQ's keys in one Redis Cluster
 * slot, where multi-key commands and scripts must stay.
 */
export function sandqKeys(queuePrefix: string) {
  const base = `${queuePrefix}:sandq`;
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
    /** Hash of one owner's stored bytes by time bucket (see OwnerStorage). */
    storedBytes: (owner: string) => `${base}:stored:${owner}`,
    /** Sorted set of one owner's executions waiting for a worker, by submission time. */
    queued: (owner: string) => `${base}:queued:${owner}`,
    /** Prefix of the per-owner submission rate counters (rate-limiter-flexible adds `:<owner>`). */
    rateLimit: `${base}:ratelimit`,
    /** Prefix of the live worker announcements (see workerRegistry). */
    workers: `${base}:workers:`,
  };
}

export type SandqKeys = ReturnType<typeof sandqKeys>;
