import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RedisServerProcess } from '../../src/cli/RedisServerProcess.js';
import type { ExecutionOutcome } from '../../src/shared/contract/execution.js';
import type { ExecutionRequest } from '../../src/shared/contract/executionRequest.js';
import { OwnerStorage } from '../../src/shared/OwnerStorage.js';
import { sandqKeys } from '../../src/shared/redisKeys.js';
import { startTestRedis } from '../helpers/redis.js';

// A day of results, cut into hour buckets; the clock is passed in, so days go by at once.
const TTL = 86_400;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NO_LIMITS = { maxStoredBytes: 0, maxQueued: 0 };
const request = { language: 'bash', code: 'x'.repeat(10_000) } as ExecutionRequest;
const outcome: ExecutionOutcome = { status: 'succeeded', result: null, error: null };
const requestBytes = OwnerStorage.requestBytes(request);
const outcomeBytes = Buffer.byteLength(JSON.stringify(outcome));

let server: RedisServerProcess;
let redis: Redis;
let storage: OwnerStorage;
beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
  storage = new OwnerStorage(redis, sandqKeys('sandq'), TTL, 'sandq:executions:');
});
beforeEach(async () => {
  await redis.flushall();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

const stored = async (now: number) => (await storage.storedBytes(['alice'], now)).get('alice');
const reserve = (id: string, now: number, limits = NO_LIMITS) => storage.reserve('alice', [{ id, bytes: requestBytes }], limits, now);

describe('stored bytes: time buckets that expire with the results', () => {
  it('counts a request until everything stored with it has expired, then never again', async () => {
    expect((await reserve('ex_1', T0)).kind).toBe('reserved');
    expect(await stored(T0)).toBe(requestBytes);
    // Stored at T0, gone by T0 + TTL: still counted at that moment, dropped within a bucket (an hour) after.
    expect(await stored(T0 + TTL * 1000)).toBe(requestBytes);
    expect(await stored(T0 + TTL * 1000 + HOUR)).toBe(0);
    // The next write deletes the dead bucket instead of carrying it.
    await reserve('ex_2', T0 + TTL * 1000 + HOUR);
    expect(await redis.hlen(sandqKeys('sandq').storedBytes('alice'))).toBe(1);
  });

  it('moves the request to the moment it is final, with its outcome, as both are kept the TTL from then', async () => {
    await reserve('ex_1', T0);
    const final = T0 + 5 * HOUR;
    await storage.finished('alice', T0, request, outcome, final);
    expect(await stored(final)).toBe(requestBytes + outcomeBytes);
    // Past the submission's expiry the moved bytes are still counted; past the outcome's, nothing is.
    expect(await stored(T0 + TTL * 1000 + HOUR)).toBe(requestBytes + outcomeBytes);
    expect(await stored(final + TTL * 1000 + HOUR)).toBe(0);
  });

  it('stays an upper bound when a final execution is counted twice, and never goes below zero', async () => {
    await reserve('ex_1', T0);
    await storage.finished('alice', T0, request, outcome, T0 + HOUR);
    await storage.finished('alice', T0, request, outcome, T0 + 2 * HOUR);
    expect(await stored(T0 + 2 * HOUR)).toBeGreaterThanOrEqual(requestBytes + outcomeBytes);
    expect(Object.values(await redis.hgetall(sandqKeys('sandq').storedBytes('alice'))).every((bytes) => Number(bytes) > 0)).toBe(true);
  });

  it('takes nothing from a submission bucket that is dead already (a job that waited longer than the TTL)', async () => {
    await reserve('ex_1', T0);
    const late = T0 + (TTL + 2 * 3600) * 1000;
    await reserve('ex_2', late);
    await storage.finished('alice', T0, request, outcome, late);
    expect(await stored(late)).toBe(2 * requestBytes + outcomeBytes);
  });

  it('refuses what would pass the limit, and gives back a reservation whose executions were not queued', async () => {
    const limits = { maxStoredBytes: 2 * requestBytes, maxQueued: 0 };
    expect((await reserve('ex_1', T0, limits)).kind).toBe('reserved');
    const second = await reserve('ex_2', T0, limits);
    expect(second.kind).toBe('reserved');
    expect(await reserve('ex_3', T0, limits)).toEqual({ kind: 'storage-full', storedBytes: 2 * requestBytes });
    if (second.kind === 'reserved') await storage.unreserve(second);
    expect(await stored(T0)).toBe(requestBytes);
    expect(await redis.zrange(sandqKeys('sandq').queued('alice'), '0', '-1')).toEqual(['ex_1']);
  });
});

describe('queued executions', () => {
  const limits = { maxStoredBytes: 0, maxQueued: 2 };
  const job = (id: string, fields: Record<string, string>) => redis.hset(`sandq:executions:${id}`, fields);

  it('drops, at the cap, entries whose job is gone or finished, and keeps those still waiting', async () => {
    await job('ex_1', { timestamp: String(T0) });
    await job('ex_2', { timestamp: String(T0), finishedOn: String(T0 + 1) });
    await reserve('ex_1', T0, limits);
    await reserve('ex_2', T0, limits);
    expect(await reserve('ex_3', T0, limits)).toMatchObject({ kind: 'reserved' });
    await job('ex_3', { timestamp: String(T0) });
    expect(await reserve('ex_4', T0, limits)).toEqual({ kind: 'too-many-queued', queued: 2 });
  });

  it('forgets entries older than the TTL, so a lost one cannot hold a place forever', async () => {
    await reserve('ex_1', T0, limits);
    await reserve('ex_2', T0, limits);
    const later = T0 + (TTL + 1) * 1000;
    await job('ex_1', { timestamp: String(T0) });
    await job('ex_2', { timestamp: String(T0) });
    expect((await reserve('ex_3', later, limits)).kind).toBe('reserved');
    expect(await redis.zrange(sandqKeys('sandq').queued('alice'), '0', '-1')).toEqual(['ex_3']);
  });
});
