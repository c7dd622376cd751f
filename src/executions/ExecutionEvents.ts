import type { Redis } from 'ioredis';
import type { ExecutionStatus } from '../shared/contract/execution.js';
import type { ExecutionKeys } from './executionKeys.js';

export type LiveEventType = 'status' | 'stdout' | 'stderr' | 'test' | 'end';

/** One entry of an execution's live stream; `id` is the Redis Stream entry id, used as the SSE id. */
export interface LiveEvent {
  id: string;
  type: LiveEventType;
  data: string;
}

/** Output is already capped per stream by maxOutputBytes; this only bounds the entry count. */
const MAX_ENTRIES = 10_000;
/** After the end, `done` carries the whole result; the stream stays a while for reconnects. */
const KEEP_AFTER_END_SECONDS = 600;
const READ_COUNT = 500;

const STREAM_ID = /^\d+-\d+$/;

export function isLiveEventId(value: string): boolean {
  return STREAM_ID.test(value);
}

/**
 * Live events of executions: a Redis Stream per execution that the worker
 * running it appends to and any API instance reads, so a client that joins
 * late (or reconnects with Last-Event-ID) gets what it missed, then the rest.
 */
export class ExecutionEvents {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ExecutionKeys,
    private readonly ttlSeconds: number,
  ) {}

  async status(executionId: string, status: ExecutionStatus): Promise<void> {
    await this.append(executionId, 'status', status, this.ttlSeconds);
  }

  async output(executionId: string, stream: 'stdout' | 'stderr', text: string): Promise<void> {
    await this.append(executionId, stream, text, this.ttlSeconds);
  }

  /** A test case's row as it ended (JSON: its index and the row). */
  async testCase(executionId: string, json: string): Promise<void> {
    await this.append(executionId, 'test', json, this.ttlSeconds);
  }

  /** The last entry: readers stop here and send the final execution. */
  async end(executionId: string, status: ExecutionStatus): Promise<void> {
    await this.append(executionId, 'end', status, Math.min(this.ttlSeconds, KEEP_AFTER_END_SECONDS));
  }

  /**
   * Entries after `afterId` ('0' = from the start). With `blockMs` > 0 waits
   * that long for one to arrive, which ties up `connection`: give each reader
   * its own.
   */
  async read(connection: Redis, executionId: string, afterId: string, blockMs: number): Promise<LiveEvent[]> {
    const key = this.keys.events(executionId);
    const reply =
      blockMs > 0
        ? await connection.xread('COUNT', READ_COUNT, 'BLOCK', blockMs, 'STREAMS', key, afterId)
        : await connection.xread('COUNT', READ_COUNT, 'STREAMS', key, afterId);
    const entries = reply?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => {
      const values = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
      return { id, type: values.get('t') as LiveEventType, data: values.get('d') ?? '' };
    });
  }

  private async append(executionId: string, type: LiveEventType, data: string, ttlSeconds: number): Promise<void> {
    const key = this.keys.events(executionId);
    await this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 't', type, 'd', data)
      .expire(key, ttlSeconds)
      .exec();
  }
}
