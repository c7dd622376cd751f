import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import type { Logger } from '../shared/logger.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData } from '../shared/queues.js';
import { createRedisConnection, waitUntilReady } from '../shared/redis.js';
import { settleWithin } from '../shared/settleWithin.js';
import { createApp } from './createApp.js';
import { ExecutionStore } from './ExecutionStore.js';

const CLOSE_TIMEOUT_MS = 2000;

/** The API process's share of sandq: the HTTP server and its queue handles. */
export class ApiRole {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly server: http.Server,
    private readonly queue: Queue<ExecutionJobData, ExecutionOutcome>,
    private readonly queueEvents: QueueEvents,
    private readonly redis: Redis,
    private readonly eventsRedis: Redis,
    private readonly logger: Logger,
  ) {}

  static async start(config: Config, redisUrl: string, logger: Logger): Promise<ApiRole> {
    const redis = createRedisConnection(redisUrl, 'api', 'sandq-api');
    // QueueEvents blocks on a stream read, so it takes a connection that waits out outages.
    const eventsRedis = createRedisConnection(redisUrl, 'worker', 'sandq-api-events');
    await waitUntilReady(redis);
    const queue = new Queue<ExecutionJobData, ExecutionOutcome>(EXECUTIONS_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
    const queueEvents = new QueueEvents(EXECUTIONS_QUEUE, { connection: eventsRedis, prefix: config.QUEUE_PREFIX });
    queue.on('error', (error) => logger.warn({ err: error }, 'queue connection error'));
    queueEvents.on('error', (error) => logger.warn({ err: error }, 'queue events connection error'));
    await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady()]);

    const store = new ExecutionStore(queue, queueEvents, config);
    const app = createApp({ config, logger, redis, store, queues: [queue as Queue] });
    const server = http.createServer(app);
    // Long-polls last up to 60 s; keep the socket for them.
    server.requestTimeout = 90_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    logger.info({ url: `http://${address.includes(':') ? `[${address}]` : address}:${port}` }, 'api listening');
    return new ApiRole(server, queue, queueEvents, redis, eventsRedis, logger);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting requests, lets open ones finish, then closes the queue handles. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      // Long-polls would otherwise hold the shutdown for up to a minute.
      const force = setTimeout(() => this.server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      await settleWithin(Promise.all([this.queueEvents.close(), this.queue.close()]), CLOSE_TIMEOUT_MS);
      for (const connection of [this.redis, this.eventsRedis]) {
        if (!(await settleWithin(connection.quit(), CLOSE_TIMEOUT_MS))) connection.disconnect();
      }
      this.logger.info('api stopped');
    })();
    await this.closing;
  }
}
