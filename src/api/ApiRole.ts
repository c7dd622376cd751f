import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelRequests } from '../executions/CancelRequests.js';
import { executionKeys } from '../executions/executionKeys.js';
import { resultTtlSeconds, type Config } from '../shared/config.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import { ExecutionEvents } from '../executions/ExecutionEvents.js';
import { ExecutionFinalizer } from '../executions/ExecutionFinalizer.js';
import { ExecutionRecords } from '../executions/ExecutionRecords.js';
import type { Logger } from '../shared/logger.js';
import { collectProcessMetrics } from '../shared/metrics.js';
import { OPEN_OWNER } from '../shared/owner.js';
import { OwnerStorage } from '../shared/OwnerStorage.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData, WEBHOOKS_QUEUE, type WebhookJobData } from '../shared/queues.js';
import { createRedisConnection, waitUntilReady } from '../shared/redis.js';
import { sandqKeys } from '../shared/redisKeys.js';
import { settleWithin } from '../shared/settleWithin.js';
import { WebhookDeliveries } from '../executions/WebhookDeliveries.js';
import { answerClientError } from './answerClientError.js';
import { AccessPolicy } from './auth/AccessPolicy.js';
import { QueueDepthGuard } from './backpressure/QueueDepthGuard.js';
import { SubmissionGate } from './backpressure/SubmissionGate.js';
import { StorageQuota } from './backpressure/StorageQuota.js';
import { SubmissionRateLimiter } from './backpressure/SubmissionRateLimiter.js';
import { createApp } from './createApp.js';
import { ExecutionIndex } from '../executions/ExecutionIndex.js';
import { ExecutionStore } from './ExecutionStore.js';
import { IdempotencyKeys } from '../executions/IdempotencyKeys.js';
import { watchQueues } from './queueMetrics.js';

const CLOSE_TIMEOUT_MS = 2000;
/** Under a second: an event stream that cannot get its connection answers 503 quickly. */
const EVENT_READER_READY_MS = 900;

/** The API process's share of sandq: the HTTP server and its queue handles. */
export class ApiRole {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly server: http.Server,
    private readonly queues: Queue[],
    private readonly queueEvents: QueueEvents,
    private readonly redis: Redis,
    private readonly eventsRedis: Redis,
    private readonly shutdown: AbortController,
    private readonly unwatchQueues: () => void,
    private readonly logger: Logger,
  ) {}

  static async start(config: Config, redisUrl: string, logger: Logger): Promise<ApiRole> {
    // Refuses an unsafe exposure (no API_KEYS in production or off loopback) before anything starts.
    const access = AccessPolicy.of(config);
    if (access.open) logger.warn({ host: config.HOST }, 'API_KEYS is not set: the API is open to anyone who can reach this loopback address');
    if (access.admin === 'off') logger.info('Bull Board and /metrics are off: set ADMIN_USER and ADMIN_PASSWORD to serve them');
    collectProcessMetrics();

    const redis = createRedisConnection(redisUrl, 'api', 'sandq-api');
    // Every long-poll listens for the connection dropping.
    redis.setMaxListeners(0);
    // QueueEvents blocks on a stream read, so it takes a connection that waits out outages.
    const eventsRedis = createRedisConnection(redisUrl, 'worker', 'sandq-api-events');
    // Outages reach the requests (503) and the queues' error logs; the connections need not say it again.
    for (const connection of [redis, eventsRedis]) connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
    await waitUntilReady(redis);
    const prefix = config.QUEUE_PREFIX;
    const queue = new Queue<ExecutionJobData, ExecutionOutcome>(EXECUTIONS_QUEUE, { connection: redis, prefix });
    const webhooks = new Queue<WebhookJobData>(WEBHOOKS_QUEUE, { connection: redis, prefix });
    const queueEvents = new QueueEvents(EXECUTIONS_QUEUE, { connection: eventsRedis, prefix });
    for (const q of [queue, webhooks]) q.on('error', (error) => logger.warn({ err: error, queue: q.name }, 'queue connection error'));
    queueEvents.on('error', (error) => logger.warn({ err: error }, 'queue events connection error'));
    await Promise.all([queue.waitUntilReady(), webhooks.waitUntilReady(), queueEvents.waitUntilReady()]);

    const keys = executionKeys(prefix);
    const sharedKeys = sandqKeys(prefix);
    const ttl = resultTtlSeconds(config);
    const events = new ExecutionEvents(redis, keys, ttl);
    const records = new ExecutionRecords(queue, redis, keys, new WebhookDeliveries(redis, keys, ttl), ttl);
    const storage = new OwnerStorage(redis, sharedKeys, ttl, queue.toKey(''));
    const store = new ExecutionStore({
      queue,
      queueEvents,
      config,
      records,
      index: new ExecutionIndex(redis, keys.index, ttl),
      cancels: new CancelRequests(redis, keys, ttl),
      finalizer: new ExecutionFinalizer({ redis, keys, webhooks, events, config }),
      storage,
      redis,
    });
    queueEvents.on('failed', ({ jobId }) => {
      store.finalizeFailed(jobId).catch((error: unknown) => logger.warn({ executionId: jobId, err: error }, 'could not finalize a failed execution'));
    });

    const shutdown = new AbortController();
    const app = createApp({
      config,
      logger,
      redis,
      store,
      idempotency: new IdempotencyKeys(redis, keys, ttl),
      events,
      gate: new SubmissionGate(
        config.MAX_QUEUE_DEPTH > 0 ? new QueueDepthGuard(queue as Queue, config.MAX_QUEUE_DEPTH) : undefined,
        config.RATE_LIMIT_PER_MINUTE > 0 ? new SubmissionRateLimiter(redis, sharedKeys.rateLimit, config.RATE_LIMIT_PER_MINUTE) : undefined,
        new StorageQuota(storage, { maxStoredBytes: config.MAX_STORED_BYTES_PER_KEY, maxQueued: config.MAX_QUEUED_PER_KEY }),
      ),
      openEventReader: async () => {
        // Its reads block for up to a heartbeat: no command timeout on this one.
        const reader = redis.duplicate({ connectionName: 'sandq-api-sse', commandTimeout: undefined });
        reader.on('error', () => {}); // its reads fail, and the stream ends
        try {
          await waitUntilReady(reader, EVENT_READER_READY_MS);
        } catch (error) {
          reader.disconnect();
          throw error;
        }
        return reader;
      },
      queues: [queue as Queue, webhooks as Queue],
      closing: shutdown.signal,
    });
    const server = http.createServer(app);
    // Long-polls last up to 60 s; keep the socket for them.
    server.requestTimeout = 90_000;
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    logger.info({ url: `http://${address.includes(':') ? `[${address}]` : address}:${port}` }, 'api listening');
    // Every owner there can be: the names of API_KEYS, or the one of an open API.
    const owners = config.API_KEYS ? [...new Set(config.API_KEYS.map((entry) => entry.name))] : [OPEN_OWNER];
    const unwatchQueues = watchQueues({ queues: [queue as Queue, webhooks as Queue], redis, queuePrefix: prefix, storage, owners });
    return new ApiRole(server, [queue as Queue, webhooks as Queue], queueEvents, redis, eventsRedis, shutdown, unwatchQueues, logger);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting requests, ends event streams, lets open requests finish, then closes the queue handles. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.shutdown.abort();
      this.unwatchQueues();
      this.server.closeIdleConnections();
      // Long-polls would otherwise hold the shutdown for up to a minute.
      const force = setTimeout(() => this.server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      // Closes that need Redis wait for it only while it answers: a lost Redis must not hold the shutdown.
      const closeMs = this.redis.status === 'ready' ? CLOSE_TIMEOUT_MS : 0;
      await settleWithin(Promise.all([this.queueEvents.close(), ...this.queues.map((q) => q.close())]), closeMs);
      for (const connection of [this.redis, this.eventsRedis]) {
        if (connection.status !== 'ready' || !(await settleWithin(connection.quit(), CLOSE_TIMEOUT_MS))) connection.disconnect();
      }
      this.logger.info('api stopped');
    })();
    await this.closing;
  }
}
