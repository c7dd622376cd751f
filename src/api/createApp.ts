import express, { type Express } from 'express';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import { limitsPolicyFrom } from '../shared/contract/limits.js';
import type { Logger } from '../shared/logger.js';
import { BULL_BOARD_PATH, bullBoardRouter } from './bullBoard.js';
import type { ExecutionStore } from './ExecutionStore.js';
import { notFoundHandler, problemHandler } from './problemDetails.js';
import { executionsRouter } from './routes/executionsRouter.js';
import { systemRouter } from './routes/systemRouter.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Plain (non-blocking) connection for health checks and the worker registry. */
  redis: Redis;
  store: ExecutionStore;
  /** Queues shown in Bull Board. */
  queues: Queue[];
}

/** The HTTP API as an Express app; no port is opened here, so tests can mount it anywhere. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(express.json({ limit: deps.config.MAX_REQUEST_BYTES, strict: false, type: ['application/json', 'application/*+json'] }));

  app.use(systemRouter(deps.redis, deps.config.QUEUE_PREFIX));
  app.use(executionsRouter(deps.store, limitsPolicyFrom(deps.config)));
  app.use(BULL_BOARD_PATH, bullBoardRouter(deps.queues));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
