import { Router, type Request, type Response } from 'express';
import { type ExecutionView, isFinalStatus } from '../../shared/contract/execution.js';
import type { executionRequestSchema } from '../../shared/contract/executionRequest.js';
import { newExecutionId } from '../../shared/ids.js';
import { OwnerStorage } from '../../shared/OwnerStorage.js';
import { apiMetrics } from '../apiMetrics.js';
import { ownerOf } from '../auth/requireApiKey.js';
import type { HeldRequestSlots } from '../backpressure/HeldRequestSlots.js';
import type { SubmissionGate } from '../backpressure/SubmissionGate.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';
import { ExecutionIndex } from '../../executions/ExecutionIndex.js';
import type { ExecutionStore, Submission } from '../ExecutionStore.js';
import type { OfferedLanguages } from '../OfferedLanguages.js';
import type { ExecutionRequest } from '../../shared/contract/executionRequest.js';
import { bodyHash, type IdempotencyKeys } from '../../executions/IdempotencyKeys.js';
import { fieldProblem, validationProblem } from '../problemDetails.js';
import { problemDocument } from '../../shared/problems/writeProblem.js';
import { executionIdParam, executionNotFound } from './executionIdParam.js';
import { methodNotAllowed } from './methodNotAllowed.js';
import { batchSchema, getQuerySchema, IDEMPOTENCY_KEY, listQuerySchema } from './querySchemas.js';

/** A replay may arrive while the first request is still adding its execution. */
const REPLAY_WAIT_MS = 2000;

export interface ExecutionsRouterDeps {
  store: ExecutionStore;
  idempotency: IdempotencyKeys;
  /** Built once from the operator's limits and webhook policy; the OpenAPI document shows the same one. */
  requestSchema: ReturnType<typeof executionRequestSchema>;
  /** Refuses, at submit, a language that no live worker runs. */
  offeredLanguages: OfferedLanguages;
  /** The provider of a request that names none. */
  defaultProvider: string;
  gate: SubmissionGate;
  /** Open long-polls (`?wait=`), per key and in all. */
  longPolls: HeldRequestSlots;
}

/** A JSON body is required; anything else is answered before validation. */
function jsonBody(req: Request): unknown {
  if (!req.is('application/json')) {
    throw new ProblemError('unsupported-media-type', { detail: 'Send the execution as JSON with Content-Type: application/json.' });
  }
  return req.body;
}

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw fieldProblem('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
  }
  return key;
}

/** The opaque cursor is the index position the next page starts after. */
const encodeCursor = (position: string) => Buffer.from(position).toString('base64url');

function decodeCursor(cursor: string): string {
  const position = Buffer.from(cursor, 'base64url').toString();
  if (!ExecutionIndex.isPosition(position)) {
    throw fieldProblem('cursor', 'is not a cursor this API handed out');
  }
  return position;
}

function accepted(res: Response, execution: ExecutionView): void {
  res.status(202).location(`/v1/executions/${execution.id}`).json(execution);
}

export function executionsRouter(deps: ExecutionsRouterDeps): Router {
  const { store, idempotency, requestSchema, gate, longPolls } = deps;
  const router = Router();

  /** Why the request's language cannot run now (no live worker offers it), as the message of its `language` field. */
  async function languageRefusal(request: ExecutionRequest): Promise<string | undefined> {
    return await deps.offeredLanguages.refusal(request.language, request.provider ?? deps.defaultProvider);
  }

  /** Queues executions (together, atomically) if the gate lets all of them through, and counts them. */
  async function queue(owner: string, submissions: Submission[]): Promise<ExecutionView[]> {
    const admission = await gate.admit(owner, submissions.map(({ id, request }) => ({ id, bytes: OwnerStorage.requestBytes(request) })));
    let executions: ExecutionView[];
    try {
      executions = submissions.length === 1 ? [await store.submit(owner, submissions[0]!)] : await store.submitMany(owner, submissions);
    } catch (error) {
      await gate.notQueued(admission).catch(() => {});
      throw error;
    }
    gate.queued(admission);
    for (const execution of executions) apiMetrics.submitted.inc({ language: execution.language, owner });
    return executions;
  }

  /**
   * The execution an earlier request with the same key and body created (it
   * may still be on its way); undefined when it never appears: its result
   * has expired, or its creation failed without giving the key back.
   */
  async function replayed(id: string, owner: string): Promise<ExecutionView | undefined> {
    const deadline = Date.now() + REPLAY_WAIT_MS;
    for (;;) {
      const execution = await store.get(id, owner);
      if (execution) return execution;
      if (Date.now() > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  router.post('/v1/executions', async (req, res) => {
    const owner = ownerOf(res);
    const body = jsonBody(req);
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const refusal = await languageRefusal(parsed.data);
    if (refusal) throw fieldProblem('language', refusal);
    const key = idempotencyKeyOf(req);
    const id = newExecutionId();
    if (key === undefined) return accepted(res, (await queue(owner, [{ id, request: parsed.data }]))[0]!);

    const hash = bodyHash(body);
    // Scoped per owner (API key name): one key's Idempotency-Key never replays another's execution.
    let claim = await idempotency.claim(owner, key, hash, id);
    if (claim.kind === 'replay') {
      const execution = await replayed(claim.executionId, owner);
      if (execution) {
        res.status(200).location(`/v1/executions/${execution.id}`).set('Idempotent-Replayed', 'true').json(execution);
        return;
      }
      // The key outlived its execution: give it up and take it for this request.
      await idempotency.release(owner, key, hash, claim.executionId);
      claim = await idempotency.claim(owner, key, hash, id);
      if (claim.kind === 'replay') {
        throw new ProblemError('idempotency-key-in-progress', { detail: 'An earlier request with this Idempotency-Key is still being handled; retry shortly.' });
      }
    }
    if (claim.kind === 'conflict') {
      const message = 'was already used with a different body';
      throw new ProblemError('idempotency-key-reused', { detail: `Idempotency-Key: ${message}; use a new key for a new execution.`, errors: [{ path: 'Idempotency-Key', message }] });
    }
    try {
      accepted(res, (await queue(owner, [{ id, request: parsed.data }]))[0]!);
    } catch (error) {
      await idempotency.release(owner, key, hash, id).catch(() => {});
      throw error;
    }
  });

  /**
   * Always 200 once the envelope is valid: each item says for itself whether
   * it was accepted (the execution, queued) or not (`error`, a problem whose
   * paths start at the body: `executions[2].limits.timeoutMs`). The accepted
   * ones are added together, atomically, and count each against the rate
   * limit; when the gate refuses them, the whole request is refused (429/503).
   */
  router.post('/v1/executions/batch', async (req, res) => {
    const owner = ownerOf(res);
    const body = jsonBody(req);
    if (req.get('idempotency-key') !== undefined) {
      throw fieldProblem('Idempotency-Key', 'is not supported on batches; send executions one by one to make them idempotent');
    }
    const envelope = batchSchema.safeParse(body);
    if (!envelope.success) throw validationProblem(envelope.error);
    const parsed = envelope.data.executions.map((item) => requestSchema.safeParse(item));
    const refusals = await Promise.all(parsed.map((result) => (result.success ? languageRefusal(result.data) : undefined)));
    const valid = parsed.flatMap((result, index) => (result.success && !refusals[index] ? [{ index, request: result.data }] : []));
    const executions = valid.length > 0 ? await queue(owner, valid.map((v) => ({ id: newExecutionId(), request: v.request }))) : [];
    const items: unknown[] = parsed.map((result, index) => {
      if (!result.success) return { error: problemDocument(validationProblem(result.error, ['executions', index])) };
      const refusal = refusals[index];
      return refusal ? { error: problemDocument(fieldProblem(`executions[${index}].language`, refusal)) } : undefined;
    });
    valid.forEach((v, k) => (items[v.index] = executions[k]));
    res.status(200).json({ items });
  });

  router.get('/v1/executions', async (req, res) => {
    const query = listQuerySchema.safeParse(req.query);
    if (!query.success) throw validationProblem(query.error);
    const { status, limit, cursor } = query.data;
    const page = await store.list({ owner: ownerOf(res), status, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) });
    res.json({ items: page.items, nextCursor: page.next === undefined ? null : encodeCursor(page.next) });
  });

  router.get('/v1/executions/:id', async (req, res) => {
    const id = executionIdParam(req);
    const query = getQuerySchema.safeParse(req.query);
    if (!query.success) throw validationProblem(query.error);
    const waitMs = (query.data.wait ?? 0) * 1000;

    const clientGone = new AbortController();
    res.on('close', () => clientGone.abort());
    const owner = ownerOf(res);
    const execution = await store.get(id, owner);
    if (!execution) throw executionNotFound(id);
    // Only a request that will really wait takes a slot.
    if (waitMs === 0 || isFinalStatus(execution.status)) return res.json(execution);
    const release = longPolls.take(owner);
    if (!release) {
      throw new ProblemError('too-many-long-polls', {
        detail: 'This key (or this API process) holds as many open long-polls as it may; retry after Retry-After, or follow the execution with its event stream or a webhook.',
      });
    }
    try {
      const final = await store.waitForFinal(id, owner, waitMs, clientGone.signal);
      if (!final) throw executionNotFound(id);
      res.json(final);
    } finally {
      release();
    }
  });

  /** 202 when this call cancelled it, 200 when it was cancelled already, 409 when it ended otherwise. */
  router.delete('/v1/executions/:id', async (req, res) => {
    const id = executionIdParam(req);
    const result = await store.cancel(id, ownerOf(res));
    switch (result.kind) {
      case 'not-found':
        throw executionNotFound(id);
      case 'finished':
        throw new ProblemError('execution-already-finished', { detail: `It ended as ${result.execution.status}; only queued or running executions can be cancelled.` });
      case 'already-cancelled':
        res.status(200).json(result.execution);
        return;
      case 'accepted':
        res.status(202).json(result.execution);
    }
  });

  // Batch first: `:id` would match it too.
  router.all('/v1/executions/batch', methodNotAllowed('POST'));
  router.all('/v1/executions', methodNotAllowed('GET', 'HEAD', 'POST'));
  router.all('/v1/executions/:id', methodNotAllowed('GET', 'HEAD', 'DELETE'));
  return router;
}
