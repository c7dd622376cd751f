import type { Request } from 'express';
import { isExecutionId } from '../../shared/ids.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';

export function executionNotFound(id: string): ProblemError {
  return new ProblemError('not-found', { detail: `No execution has the id ${JSON.stringify(id)}; results are kept for a limited time.` });
}

/** The `:id` route parameter; one that cannot be an execution id is a 404 like an unknown one. */
export function executionIdParam(req: Request): string {
  const id = String(req.params.id);
  if (!isExecutionId(id)) throw executionNotFound(id);
  return id;
}
