import type { RequestHandler } from 'express';
import { ProblemError } from '../../shared/problems/ProblemError.js';

/** For `router.all(path, …)` after a path's routes: another method is a 405 naming the ones it takes, not a 404. */
export function methodNotAllowed(...allowed: string[]): RequestHandler {
  const allow = allowed.join(', ');
  return (req, _res, next) => {
    next(new ProblemError('method-not-allowed', { detail: `${req.path} answers ${allow} only.`, headers: { Allow: allow } }));
  };
}
