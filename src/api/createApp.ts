import express, { type Express, type Request, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { AdminCredentials } from '../shared/AdminCredentials.js';
import type { Config } from '../shared/config.js';
import { executionRequestSchema } from '../shared/contract/executionRequest.js';
import { limitsPolicyFrom } from '../shared/contract/limits.js';
import { languagesFromConfig } from '../shared/languages/languagesFromConfig.js';
import { OfferedLanguages } from './OfferedLanguages.js';
import type { ExecutionEvents } from '../executions/ExecutionEvents.js';
import type { Logger } from '../shared/logger.js';
import { metricsRegistry } from '../shared/metrics.js';
import { AccessPolicy } from './auth/AccessPolicy.js';
import { requireAdmin } from './auth/requireAdmin.js';
import { requireApiKey } from './auth/requireApiKey.js';
import { requireLoopbackHost } from './auth/requireLoopbackHost.js';
import { HeldRequestSlots } from './backpressure/HeldRequestSlots.js';
import type { SubmissionGate } from './backpressure/SubmissionGate.js';
import { BULL_BOARD_PATH, bullBoardRouter } from './bullBoard.js';
import type { ExecutionStore } from './ExecutionStore.js';
import { httpMetrics } from './httpMetrics.js';
import type { IdempotencyKeys } from '../executions/IdempotencyKeys.js';
import { openApiDocument } from './openapi/openApiDocument.js';
import { notFoundHandler, problemHandler } from './problemDetails.js';
import { docsRouter } from './routes/docsRouter.js';
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
  /** Queue depth and rate limit, checked before executions are queued. */
  gate: SubmissionGate;
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
  const access = AccessPolicy.of(config);
  const limits = limitsPolicyFrom(config);
  const webhooks = { enabled: config.WEBHOOK_SECRET !== undefined, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
  const languages = languagesFromConfig(config);
  const requestSchema = executionRequestSchema(limits, languages, webhooks);
  const offeredLanguages = new OfferedLanguages(deps.redis, config.QUEUE_PREFIX, languages);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(httpMetrics);
  // helmet's defaults, except upgrade-insecure-requests: the API is often reached over plain
  // HTTP on a private network, where the upgrade would break the docs page and Bull Board.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  // With keys, every route but the public ones asks for a credential that a rebinding page cannot send.
  if (access.open) app.use(requireLoopbackHost(config.ALLOWED_HOSTS));
  // The key is checked before the body is read: no parsing for strangers.
  app.use('/v1', requireApiKey(config.API_KEYS));
  app.use(express.json({ limit: config.MAX_REQUEST_BYTES, strict: false, type: ['application/json', 'application/*+json'] }));

  const adminCredentials = access.admin === 'basic' ? new AdminCredentials(config.ADMIN_USER!, config.ADMIN_PASSWORD!) : undefined;
  const isAdmin = (req: Request) => access.admin === 'open' || (adminCredentials?.accepts(req.get('authorization')) ?? false);
  app.use(systemRouter(deps.redis, config.QUEUE_PREFIX, isAdmin, offeredLanguages));
  app.use(docsRouter(openApiDocument({ requestSchema, limits, webhooks, apiKeys: !access.open, admin: access.admin })));
  app.use(
    executionsRouter({
      store: deps.store,
      idempotency: deps.idempotency,
      requestSchema,
      offeredLanguages,
      defaultProvider: config.SANDBOX_PROVIDER,
      gate: deps.gate,
      longPolls: new HeldRequestSlots(config.LONG_POLL_MAX, config.LONG_POLL_MAX_PER_KEY),
    }),
  );
  app.use(
    executionEventsRouter({
      store: deps.store,
      events: deps.events,
      openReader: deps.openEventReader,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
      slots: new HeldRequestSlots(config.SSE_MAX_STREAMS, config.SSE_MAX_STREAMS_PER_KEY),
      closing: deps.closing,
      logger: deps.logger,
    }),
  );
  if (access.admin !== 'off') {
    const admin: RequestHandler = adminCredentials ? requireAdmin(adminCredentials) : (_req, _res, next) => next();
    app.get('/metrics', admin, async (_req, res) => {
      res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
    });
    app.use(BULL_BOARD_PATH, admin, bullBoardRouter(deps.queues, { writable: config.ADMIN_BOARD_WRITES }));
  }

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
