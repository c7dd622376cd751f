import { Redis, type RedisOptions } from 'ioredis';

/**
 * `worker`: BullMQ workers and QueueEvents block on Redis and must wait out
 * outages, so requests are never abandoned (maxRetriesPerRequest: null).
 * `api`: a request must fail fast when Redis is away instead of queueing
 * commands in memory, so the client answers 503 at once; and when Redis hangs
 * rather than refusing (a partition, a stopped process), each command gives
 * up after API_COMMAND_TIMEOUT_MS, so the answer still comes within a second.
 * A connection of this kind that runs blocking reads must lift the timeout.
 */
export type RedisRole = 'api' | 'worker';

export const API_COMMAND_TIMEOUT_MS = 600;
/** Longest pause between reconnect attempts: a returning Redis is found within about this. */
const MAX_RECONNECT_DELAY_MS = 1000;

export function createRedisConnection(url: string, role: RedisRole, name: string): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: API_COMMAND_TIMEOUT_MS, connectionName: name };
  return new Redis(url, {
    ...options,
    // Reconnect forever with a capped delay; workers resume on their own when Redis returns.
    retryStrategy: (times) => Math.min(times * 200, MAX_RECONNECT_DELAY_MS),
  });
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`). */
export async function waitUntilReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** True when an error means Redis cannot be reached right now (as opposed to a bad command). */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Reached the max retries|Command timed out|Redis connection is not ready|LOADING/i.test(
    error.message,
  );
}
