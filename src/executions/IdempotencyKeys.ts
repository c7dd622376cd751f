import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ExecutionKeys } from './executionKeys.js';

export type IdempotencyClaim =
  | { kind: 'new' }
  | { kind: 'replay'; executionId: string }
  | { kind: 'conflict' };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted at every level: the same body, however its keys were ordered. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function bodyHash(body: unknown): string {
  return sha256(canonicalJson(body));
}

// Deletes the key only while it still names this claim.
const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * Idempotency-Key → (hash of the canonical body, execution id), kept for
 * RESULT_TTL_MS. The claim is one SET NX, so of two identical requests
 * racing, exactly one creates the execution and the other replays it.
 */
export class IdempotencyKeys {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ExecutionKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** Claims `key` for `executionId` (not created yet), or says whose it already is. */
  async claim(scope: string, key: string, hash: string, executionId: string): Promise<IdempotencyClaim> {
    const redisKey = this.keys.idempotency(scope, sha256(key));
    // A second round only when the stored claim expired between SET and GET.
    for (let round = 0; round < 2; round++) {
      if ((await this.redis.set(redisKey, `${hash}:${executionId}`, 'EX', this.ttlSeconds, 'NX')) === 'OK') return { kind: 'new' };
      const stored = await this.redis.get(redisKey);
      if (stored === null) continue;
      const [storedHash, storedId] = stored.split(':');
      return storedHash === hash && storedId ? { kind: 'replay', executionId: storedId } : { kind: 'conflict' };
    }
    return { kind: 'conflict' };
  }

  /** Gives the key up after the execution could not be created, so a retry can create it. */
  async release(scope: string, key: string, hash: string, executionId: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.idempotency(scope, sha256(key)), `${hash}:${executionId}`);
  }
}
