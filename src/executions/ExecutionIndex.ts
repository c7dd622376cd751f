import type { Redis } from 'ioredis';

/** `<createdAt ms, 15 digits>:<id>`: members sort by time, then id, so a position is exact even for equal times. */
const POSITION = /^\d{15}:ex_[0-9a-f]{32}$/;
const ID_OFFSET = 16;

export interface IndexEntry {
  id: string;
  /** Where this entry stands; a page can start after it. */
  position: string;
}

const positionOf = (id: string, createdAtMs: number) => `${String(createdAtMs).padStart(15, '0')}:${id}`;

/**
 * Each owner's executions by creation time, newest first (a sorted set per
 * owner, so one key's listing never meets another's executions), so that
 * listing pages through a sorted set instead of scanning all jobs. Written at
 * submit. All members share score 0 and order lexicographically, which makes
 * a page boundary a single member. Entries are trimmed after twice the result
 * TTL (a job may wait in the queue before its TTL starts); entries whose
 * execution is gone earlier are dropped when a listing meets them.
 */
export class ExecutionIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (owner: string) => string,
    private readonly ttlSeconds: number,
  ) {}

  static isPosition(value: string): boolean {
    return POSITION.test(value);
  }

  async add(owner: string, entries: { id: string; createdAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.keyOf(owner);
    const keepMs = this.ttlSeconds * 2 * 1000;
    const members = entries.flatMap((e) => [0, positionOf(e.id, e.createdAt)]);
    await this.redis
      .multi()
      .zadd(key, ...members)
      .zremrangebylex(key, '-', `(${String(Date.now() - keepMs).padStart(15, '0')}`)
      .expire(key, this.ttlSeconds * 2)
      .exec();
  }

  /** Up to `count` of the owner's entries, newest first, after `position` (from the newest when undefined). */
  async page(owner: string, position: string | undefined, count: number): Promise<IndexEntry[]> {
    const members = await this.redis.zrevrangebylex(this.keyOf(owner), position ? `(${position}` : '+', '-', 'LIMIT', 0, count);
    return members.map((member) => ({ id: member.slice(ID_OFFSET), position: member }));
  }

  async remove(owner: string, positions: string[]): Promise<void> {
    if (positions.length > 0) await this.redis.zrem(this.keyOf(owner), ...positions);
  }
}
