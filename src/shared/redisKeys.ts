/**
 * Keys sandq keeps in Redis beside BullMQ's own. All live under QUEUE_PREFIX,
 * so deployments sharing one Redis stay apart, and a hash tag in the prefix
 * (QUEUE_PREFIX={sandq}) puts them and BullMQ's keys in one Redis Cluster
 * slot, where multi-key commands and scripts must stay. An execution's own
 * keys are in src/executions/executionKeys.ts, on the same base.
 */
export function sandqKeyBase(queuePrefix: string): string {
  return `${queuePrefix}:sandq`;
}

/** Keys about owners and workers rather than one execution. */
export function sandqKeys(queuePrefix: string) {
  const base = sandqKeyBase(queuePrefix);
  return {
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
