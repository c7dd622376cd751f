import express, { type Express } from 'express';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import { limitsPolicyFrom } from '../shared/contract/limits.js';
import type { ExecutionEvents } from '../shared/ExecutionEvents.js';
import type { Logger } from '../shared/logger.js';
import { BULL_BOARD_PATH, bullBoardRouter } from './bullBoard.js';
import type { ExecutionStore } from './ExecutionStore.js';
import type { IdempotencyKeys } from './IdempotencyKeys.js';
import { notFoundHandler, problemHandler } from './problemDetails.js';
import { executionEventsRouter } from './routes/executionEventsRouter.js';
import { executionsRouter } from './routes/executionsRouter.js';
import { systemRouter } from './routes/systemRouter.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Plain (non-blocking) connection for health checks and the worker registry. */
  redis: Redis;
  store: ExecutionStore;
  idempotency: IdempotencyKeys;
  events: ExecutionEvents;
  /** A new connection for one event stream, whose reads block. */
  openEventReader: () => Promise<Redis>;
  /** Queues shown in Bull Board. */
  queues: Queue[];
  /** Aborted when the API shuts down: event streams end then. */
  closing: AbortSignal;
}

/** The HTTP API as an Express app; no port is opened here, so tests can mount it anywhere. */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(express.json({ limit: config.MAX_REQUEST_BYTES, strict: false, type: ['application/json', 'application/*+json'] }));

  app.use(systemRouter(deps.redis, config.QUEUE_PREFIX));
  app.use(
    executionsRouter({
      store: deps.store,
      idempotency: deps.idempotency,
      limits: limitsPolicyFrom(config),
      webhooks: { enabled: config.WEBHOOK_SECRET !== undefined, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE },
    }),
  );
  app.use(
    executionEventsRouter({
      store: deps.store,
      events: deps.events,
      openReader: deps.openEventReader,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
      closing: deps.closing,
      logger: deps.logger,
    }),
  );
  app.use(BULL_BOARD_PATH, bullBoardRouter(deps.queues));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
