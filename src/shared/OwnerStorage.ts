import type { Redis } from 'ioredis';
import type { ExecutionOutcome } from './contract/execution.js';
import type { ExecutionRequest } from './contract/executionRequest.js';
import type { SandqKeys } from './redisKeys.js';

/**
 * What an execution keeps in Redis beyond its request and outcome, for the
 * whole RESULT_TTL_SECONDS: its job hash around the data (about 0.9 KB for a
 * tiny request), its entries in BullMQ's sets and the listing index, its
 * webhook's job and state (1.2 KB) when it has one.
 */
export const EXECUTION_OVERHEAD_BYTES = 2048;
/** The result TTL is cut into this many buckets: a counted byte is dropped at most one bucket after it expires. */
const BUCKETS_PER_TTL = 24;
/** At the queued cap, this many of the owner's oldest entries are checked for jobs that are gone. */
const STALE_SCAN = 1000;

/** One execution about to be queued. */
export interface QueuedExecution {
  id: string;
  /** What its request stores: `OwnerStorage.requestBytes`. */
  bytes: number;
}

export interface StorageLimits {
  /** Bytes an owner may have stored (0: no limit). */
  maxStoredBytes: number;
  /** Executions an owner may have waiting for a worker (0: no limit). */
  maxQueued: number;
}

export type Reservation =
  | { kind: 'reserved'; owner: string; bucket: number; bytes: number; ids: string[] }
  | { kind: 'storage-full'; storedBytes: number }
  | { kind: 'too-many-queued'; queued: number };

/** Sum of the live buckets of a bytes hash; dead ones are deleted on the way. */
const LIVE_BYTES = `
local function liveBytes(key, oldest)
  local fields = redis.call('HGETALL', key)
  local sum, dead = 0, {}
  for i = 1, #fields, 2 do
    if tonumber(fields[i]) < oldest then dead[#dead + 1] = fields[i] else sum = sum + tonumber(fields[i + 1]) end
  end
  if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
  return sum
end
`;

/**
 * KEYS: bytes hash, queued set. ARGV: bucket, oldest live bucket, bytes TTL,
 * bytes, max bytes, max queued, now ms, oldest queued ms, queued TTL, job key
 * prefix, ids… Both checks and both writes in one step: all or nothing.
 */
const RESERVE = `${LIVE_BYTES}
local bytes, maxBytes, maxQueued = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local stored = liveBytes(KEYS[1], tonumber(ARGV[2]))
if maxBytes > 0 and stored + bytes > maxBytes then return {'storage-full', stored} end
local count = #ARGV - 10
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[8])
local queued = redis.call('ZCARD', KEYS[2])
if maxQueued > 0 and queued + count > maxQueued then
  -- Entries whose job is gone (removed by other means) or finished no longer wait.
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, ${STALE_SCAN - 1})) do
    local job = redis.call('HMGET', ARGV[10] .. id, 'timestamp', 'finishedOn')
    if not job[1] or job[2] then redis.call('ZREM', KEYS[2], id) end
  end
  queued = redis.call('ZCARD', KEYS[2])
  if queued + count > maxQueued then return {'too-many-queued', queued} end
end
redis.call('HINCRBY', KEYS[1], ARGV[1], bytes)
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 11, #ARGV do redis.call('ZADD', KEYS[2], ARGV[7], ARGV[i]) end
redis.call('EXPIRE', KEYS[2], ARGV[9])
return {'reserved', stored + bytes}
`;

/** KEYS: bytes hash. ARGV: bucket, bytes. Takes back at most what the bucket holds. */
const SUBTRACT = `
local function subtract(key, bucket, bytes)
  local held = tonumber(redis.call('HGET', key, bucket) or '0')
  if held <= bytes then redis.call('HDEL', key, bucket) else redis.call('HINCRBY', key, bucket, -bytes) end
end
`;

const UNRESERVE = `${SUBTRACT}
subtract(KEYS[1], ARGV[1], tonumber(ARGV[2]))
`;

/**
 * KEYS: bytes hash. ARGV: submit bucket, oldest live bucket, this bucket,
 * request bytes, request and outcome bytes, bytes TTL. Moves the request's
 * bytes from its submit bucket (unless that one is dead already) to this
 * one, with the outcome's: from now on both are kept RESULT_TTL_SECONDS.
 */
const FINISHED = `${SUBTRACT}
if tonumber(ARGV[1]) >= tonumber(ARGV[2]) then subtract(KEYS[1], ARGV[1], tonumber(ARGV[4])) end
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
`;

const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * What each owner (API key name) keeps in Redis, counted so that one key
 * cannot fill it: the bytes of its requests and outcomes, and its
 * executions waiting for a worker. Shared by every API instance and worker.
 *
 * Bytes are counted in time buckets (a hash per owner, a field per
 * bucket of RESULT_TTL_SECONDS / 24): a request at submit, in the bucket of
 * its submission; once the execution is final, the worker moves the
 * request's bytes to the bucket of that moment and adds the outcome's, as
 * both are kept RESULT_TTL_SECONDS from then on. A bucket counts until
 * everything written in it has expired, then is dropped, so the sum of the
 * live buckets is an upper bound of what is stored and cannot drift upward.
 *
 * The queued set (a sorted set per owner, by submission time) holds the ids
 * submitted and not started; the worker takes an id out when it starts the
 * job, the API when it cancels one in the queue. Entries of jobs removed by
 * other means are dropped when the owner is at its cap, and every entry
 * after RESULT_TTL_SECONDS.
 */
export class OwnerStorage {
  private readonly bucketSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: SandqKeys,
    private readonly ttlSeconds: number,
    /** Where BullMQ keeps an execution's job hash: this prefix and its id (`Queue.toKey('')`). */
    private readonly jobKeyPrefix: string,
  ) {
    this.bucketSeconds = Math.max(1, Math.ceil(ttlSeconds / BUCKETS_PER_TTL));
    for (const [name, lua] of Object.entries({ sandqReserveStorage: RESERVE, sandqUnreserveStorage: UNRESERVE, sandqFinishedStorage: FINISHED })) {
      redis.defineCommand(name, { lua, numberOfKeys: name === 'sandqReserveStorage' ? 2 : 1 });
    }
  }

  /** What a request stores, as counted at submit. */
  static requestBytes(request: ExecutionRequest): number {
    return sizeOf(request) + EXECUTION_OVERHEAD_BYTES;
  }

  /** Counts the executions' requests and queues their ids, unless that takes the owner past a limit. */
  async reserve(owner: string, executions: QueuedExecution[], limits: StorageLimits, now = Date.now()): Promise<Reservation> {
    const bucket = this.bucketOf(now);
    const bytes = executions.reduce((sum, e) => sum + e.bytes, 0);
    const ids = executions.map((e) => e.id);
    const [kind, figure] = (await this.commands.sandqReserveStorage(
      this.keys.storedBytes(owner),
      this.keys.queued(owner),
      bucket,
      this.oldestLiveBucket(now),
      this.bytesKeySeconds,
      bytes,
      limits.maxStoredBytes,
      limits.maxQueued,
      now,
      now - this.ttlSeconds * 1000,
      this.ttlSeconds,
      this.jobKeyPrefix,
      ...ids,
    )) as [Reservation['kind'], number];
    if (kind === 'storage-full') return { kind, storedBytes: figure };
    if (kind === 'too-many-queued') return { kind, queued: figure };
    return { kind: 'reserved', owner, bucket, bytes, ids };
  }

  /** Gives a reservation back when its executions could not be queued after all. */
  async unreserve(reservation: Reservation & { kind: 'reserved' }): Promise<void> {
    await Promise.all([
      this.commands.sandqUnreserveStorage(this.keys.storedBytes(reservation.owner), reservation.bucket, reservation.bytes),
      this.redis.zrem(this.keys.queued(reservation.owner), ...reservation.ids),
    ]);
  }

  /** The execution no longer waits: a worker started it, or it was cancelled in the queue. */
  async leftQueue(owner: string, executionId: string): Promise<void> {
    await this.redis.zrem(this.keys.queued(owner), executionId);
  }

  /** The execution is final: its request and outcome are kept RESULT_TTL_SECONDS from now. */
  async finished(owner: string, submittedAt: number, request: ExecutionRequest, outcome: ExecutionOutcome | null, now = Date.now()): Promise<void> {
    const requestBytes = OwnerStorage.requestBytes(request);
    await this.commands.sandqFinishedStorage(
      this.keys.storedBytes(owner),
      this.bucketOf(submittedAt),
      this.oldestLiveBucket(now),
      this.bucketOf(now),
      requestBytes,
      requestBytes + (outcome === null ? 0 : sizeOf(outcome)),
      this.bytesKeySeconds,
    );
  }

  /** The bytes counted for each owner now; read-only, one command per owner, sent together. */
  async storedBytes(owners: readonly string[], now = Date.now()): Promise<Map<string, number>> {
    const oldest = this.oldestLiveBucket(now);
    const hashes = await Promise.all(owners.map((owner) => this.redis.hgetall(this.keys.storedBytes(owner))));
    return new Map(
      owners.map((owner, i) => [owner, Object.entries(hashes[i]!).reduce((sum, [bucket, bytes]) => (Number(bucket) >= oldest ? sum + Number(bytes) : sum), 0)]),
    );
  }

  private bucketOf(ms: number): number {
    return Math.floor(ms / 1000 / this.bucketSeconds);
  }

  /** Bytes written in bucket b are kept until at most (b + 1) * width + TTL; earlier buckets hold only expired data. */
  private oldestLiveBucket(nowMs: number): number {
    return Math.floor((nowMs / 1000 - this.ttlSeconds) / this.bucketSeconds);
  }

  /** Once no bucket of the hash is live any more. */
  private get bytesKeySeconds(): number {
    return this.ttlSeconds + this.bucketSeconds;
  }

  private get commands(): StorageCommands {
    return this.redis as unknown as StorageCommands;
  }
}

/** The scripts above, as ioredis defines them on the connection (EVALSHA, loading them when Redis lacks them). */
interface StorageCommands {
  sandqReserveStorage(...args: (string | number)[]): Promise<unknown>;
  sandqUnreserveStorage(...args: (string | number)[]): Promise<unknown>;
  sandqFinishedStorage(...args: (string | number)[]): Promise<unknown>;
}
