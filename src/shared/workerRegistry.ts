import type { Redis } from 'ioredis';
import { sandqKeys } from './redisKeys.js';

export interface RuntimeInfo {
  language: string;
  version: string;
  /** The provider that runs it (a worker may run several). */
  provider: string;
}

/** What a live worker announces about itself; the API lists languages from it. */
export interface WorkerAnnouncement {
  id: string;
  host: string;
  /** The providers this worker runs, comma-separated (for people reading Redis). */
  provider: string;
  languages: RuntimeInfo[];
  startedAt: string;
  /** Conditions that weaken this worker's isolation (e.g. no cgroups: rlimit fallback). */
  warnings: string[];
}

/** An announcement lives this long unless renewed, so a dead worker drops out by itself. */
export const ANNOUNCEMENT_TTL_SECONDS = 30;

const keyPrefix = (queuePrefix: string) => sandqKeys(queuePrefix).workers;

export async function announceWorker(redis: Redis, queuePrefix: string, worker: WorkerAnnouncement): Promise<void> {
  await redis.set(keyPrefix(queuePrefix) + worker.id, JSON.stringify(worker), 'EX', ANNOUNCEMENT_TTL_SECONDS);
}

export async function withdrawWorker(redis: Redis, queuePrefix: string, workerId: string): Promise<void> {
  await redis.del(keyPrefix(queuePrefix) + workerId);
}

export async function listWorkers(redis: Redis, queuePrefix: string): Promise<WorkerAnnouncement[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix(queuePrefix)}*`, 'COUNT', 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => (v ? [JSON.parse(v) as WorkerAnnouncement] : []));
}
