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
 * Every execution of the deployment by creation time, newest first, so that
 * listing pages through a sorted set instead of scanning all jobs. Written at
 * submit. All members share score 0 and order lexicographically, which makes
 * a page boundary a single member. Entries are trimmed after twice the result
 * TTL (a job may wait in the queue before its TTL starts); entries whose
 * execution is gone earlier are dropped when a listing meets them.
 */
export class ExecutionIndex {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlSeconds: number,
  ) {}

  static isPosition(value: string): boolean {
    return POSITION.test(value);
  }

  async add(entries: { id: string; createdAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const keepMs = this.ttlSeconds * 2 * 1000;
    const members = entries.flatMap((e) => [0, positionOf(e.id, e.createdAt)]);
    await this.redis
      .multi()
      .zadd(this.key, ...members)
      .zremrangebylex(this.key, '-', `(${String(Date.now() - keepMs).padStart(15, '0')}`)
      .expire(this.key, this.ttlSeconds * 2)
      .exec();
  }

  /** Up to `count` entries, newest first, after `position` (from the newest when undefined). */
  async page(position: string | undefined, count: number): Promise<IndexEntry[]> {
    const members = await this.redis.zrevrangebylex(this.key, position ? `(${position}` : '+', '-', 'LIMIT', 0, count);
    return members.map((member) => ({ id: member.slice(ID_OFFSET), position: member }));
  }

  async remove(positions: string[]): Promise<void> {
    if (positions.length > 0) await this.redis.zrem(this.key, ...positions);
  }
}
