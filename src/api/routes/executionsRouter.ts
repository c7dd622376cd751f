import { Router, type Request } from 'express';
import { z } from 'zod';
import { executionRequestSchema } from '../../shared/contract/executionRequest.js';
import type { LimitsPolicy } from '../../shared/contract/limits.js';
import { isExecutionId } from '../../shared/ids.js';
import { ProblemError } from '../errors/ProblemError.js';
import type { ExecutionStore } from '../ExecutionStore.js';
import { validationProblem } from '../problemDetails.js';

export const MAX_WAIT_SECONDS = 60;

const getQuerySchema = z.object({
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
});

/** A JSON body is required; anything else is answered before validation. */
function jsonBody(req: Request): unknown {
  if (!req.is('application/json')) {
    throw new ProblemError(415, 'Unsupported media type', 'Send the execution as JSON with Content-Type: application/json.');
  }
  return req.body;
}

function executionIdParam(req: Request): string {
  const id = String(req.params.id);
  if (!isExecutionId(id)) throw new ProblemError(404, 'Execution not found', `No execution has the id ${JSON.stringify(id)}.`);
  return id;
}

export function executionsRouter(store: ExecutionStore, policy: LimitsPolicy): Router {
  const router = Router();
  const requestSchema = executionRequestSchema(policy);

  router.post('/v1/executions', async (req, res) => {
    const parsed = requestSchema.safeParse(jsonBody(req));
    if (!parsed.success) throw validationProblem(parsed.error);
    const execution = await store.submit(parsed.data);
    res.status(202).location(`/v1/executions/${execution.id}`).json(execution);
  });

  router.get('/v1/executions/:id', async (req, res) => {
    const id = executionIdParam(req);
    const query = getQuerySchema.safeParse(req.query);
    if (!query.success) throw validationProblem(query.error);
    const waitMs = (query.data.wait ?? 0) * 1000;

    const clientGone = new AbortController();
    res.on('close', () => clientGone.abort());
    const execution = waitMs > 0 ? await store.waitForFinal(id, waitMs, clientGone.signal) : await store.get(id);
    if (!execution) throw new ProblemError(404, 'Execution not found', `No execution has the id ${JSON.stringify(id)}; results are kept for a limited time.`);
    res.json(execution);
  });

  return router;
}
