import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { EXECUTION_STATUSES, type ExecutionView } from '../../shared/contract/execution.js';
import { executionRequestSchema } from '../../shared/contract/executionRequest.js';
import type { LimitsPolicy } from '../../shared/contract/limits.js';
import type { WebhookPolicy } from '../../shared/contract/webhook.js';
import { newExecutionId } from '../../shared/ids.js';
import { ProblemError } from '../errors/ProblemError.js';
import { ExecutionIndex } from '../ExecutionIndex.js';
import type { ExecutionStore } from '../ExecutionStore.js';
import { bodyHash, type IdempotencyKeys } from '../IdempotencyKeys.js';
import { problemBody, validationProblem } from '../problemDetails.js';
import { executionIdParam, executionNotFound } from './executionIdParam.js';

export const MAX_WAIT_SECONDS = 60;
export const MAX_BATCH_SIZE = 100;

/** Idempotency keys are per deployment for now; with API keys, per key. */
const IDEMPOTENCY_SCOPE = 'deployment';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** A replay may arrive while the first request is still adding its execution. */
const REPLAY_WAIT_MS = 2000;

export interface ExecutionsRouterDeps {
  store: ExecutionStore;
  idempotency: IdempotencyKeys;
  limits: LimitsPolicy;
  webhooks: WebhookPolicy;
}

const getQuerySchema = z.object({
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
});

const listQuerySchema = z.object({
  status: z.enum(EXECUTION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
});

const batchSchema = z
  .object({
    executions: z.array(z.unknown()).min(1).max(MAX_BATCH_SIZE),
  })
  .strict();

/** A JSON body is required; anything else is answered before validation. */
function jsonBody(req: Request): unknown {
  if (!req.is('application/json')) {
    throw new ProblemError(415, 'Unsupported media type', 'Send the execution as JSON with Content-Type: application/json.');
  }
  return req.body;
}

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    const message = 'must be 1 to 255 visible ASCII characters';
    throw new ProblemError(400, 'The request is not valid', `Idempotency-Key: ${message}`, [{ path: 'Idempotency-Key', message }]);
  }
  return key;
}

/** The opaque cursor is the index position the next page starts after. */
const encodeCursor = (position: string) => Buffer.from(position).toString('base64url');

function decodeCursor(cursor: string): string {
  const position = Buffer.from(cursor, 'base64url').toString();
  if (!ExecutionIndex.isPosition(position)) {
    const message = 'is not a cursor this API handed out';
    throw new ProblemError(400, 'The request is not valid', `cursor: ${message}`, [{ path: 'cursor', message }]);
  }
  return position;
}

function accepted(res: Response, execution: ExecutionView): void {
  res.status(202).location(`/v1/executions/${execution.id}`).json(execution);
}

export function executionsRouter(deps: ExecutionsRouterDeps): Router {
  const { store, idempotency } = deps;
  const router = Router();
  const requestSchema = executionRequestSchema(deps.limits, deps.webhooks);

  /** The execution an earlier request with the same key and body created (it may still be on its way). */
  async function replayed(id: string): Promise<ExecutionView> {
    const deadline = Date.now() + REPLAY_WAIT_MS;
    for (;;) {
      const execution = await store.get(id);
      if (execution) return execution;
      if (Date.now() > deadline) {
        throw new ProblemError(409, 'Request in progress', 'An earlier request with this Idempotency-Key is still being handled; retry shortly.', undefined, { 'Retry-After': '1' });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  router.post('/v1/executions', async (req, res) => {
    const body = jsonBody(req);
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const key = idempotencyKeyOf(req);
    if (key === undefined) return accepted(res, await store.submit(parsed.data));

    const hash = bodyHash(body);
    const id = newExecutionId();
    const claim = await idempotency.claim(IDEMPOTENCY_SCOPE, key, hash, id);
    if (claim.kind === 'conflict') {
      const message = 'was already used with a different body';
      throw new ProblemError(409, 'Idempotency-Key reused', `Idempotency-Key: ${message}; use a new key for a new execution.`, [{ path: 'Idempotency-Key', message }]);
    }
    if (claim.kind === 'replay') {
      const execution = await replayed(claim.executionId);
      res.status(200).location(`/v1/executions/${execution.id}`).set('Idempotent-Replayed', 'true').json(execution);
      return;
    }
    try {
      accepted(res, await store.submit(parsed.data, id));
    } catch (error) {
      await idempotency.release(IDEMPOTENCY_SCOPE, key, hash, id).catch(() => {});
      throw error;
    }
  });

  /**
   * Always 200 once the envelope is valid: each item says for itself whether
   * it was accepted (the execution, queued) or not (`error`, a problem whose
   * paths start at the body: `executions[2].limits.timeoutMs`). The accepted
   * ones are added together, atomically.
   */
  router.post('/v1/executions/batch', async (req, res) => {
    const body = jsonBody(req);
    if (req.get('idempotency-key') !== undefined) {
      const message = 'is not supported on batches; send executions one by one to make them idempotent';
      throw new ProblemError(400, 'The request is not valid', `Idempotency-Key: ${message}`, [{ path: 'Idempotency-Key', message }]);
    }
    const envelope = batchSchema.safeParse(body);
    if (!envelope.success) throw validationProblem(envelope.error);
    const parsed = envelope.data.executions.map((item) => requestSchema.safeParse(item));
    const valid = parsed.flatMap((result, index) => (result.success ? [{ index, request: result.data }] : []));
    const executions = valid.length > 0 ? await store.submitMany(valid.map((v) => v.request)) : [];
    const items: unknown[] = parsed.map((result, index) =>
      result.success ? undefined : { error: problemBody(validationProblem(result.error, ['executions', index])) },
    );
    valid.forEach((v, k) => (items[v.index] = executions[k]));
    res.status(200).json({ items });
  });

  router.get('/v1/executions', async (req, res) => {
    const query = listQuerySchema.safeParse(req.query);
    if (!query.success) throw validationProblem(query.error);
    const { status, limit, cursor } = query.data;
    const page = await store.list({ status, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) });
    res.json({ items: page.items, nextCursor: page.next === undefined ? null : encodeCursor(page.next) });
  });

  router.get('/v1/executions/:id', async (req, res) => {
    const id = executionIdParam(req);
    const query = getQuerySchema.safeParse(req.query);
    if (!query.success) throw validationProblem(query.error);
    const waitMs = (query.data.wait ?? 0) * 1000;

    const clientGone = new AbortController();
    res.on('close', () => clientGone.abort());
    const execution = waitMs > 0 ? await store.waitForFinal(id, waitMs, clientGone.signal) : await store.get(id);
    if (!execution) throw executionNotFound(id);
    res.json(execution);
  });

  /** 202 when this call cancelled it, 200 when it was cancelled already, 409 when it ended otherwise. */
  router.delete('/v1/executions/:id', async (req, res) => {
    const id = executionIdParam(req);
    const result = await store.cancel(id);
    switch (result.kind) {
      case 'not-found':
        throw executionNotFound(id);
      case 'finished':
        throw new ProblemError(409, 'Execution already finished', `It ended as ${result.execution.status}; only queued or running executions can be cancelled.`);
      case 'already-cancelled':
        res.status(200).json(result.execution);
        return;
      case 'accepted':
        res.status(202).json(result.execution);
    }
  });

  return router;
}
