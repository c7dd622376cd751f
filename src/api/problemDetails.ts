import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { type FieldError, ProblemError } from '../shared/problems/ProblemError.js';
import { writeProblem } from '../shared/problems/writeProblem.js';
import { isRedisUnavailable } from '../shared/redis.js';

/** `files[0].path`, `limits.timeoutMs`; the body itself is `(body)`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `${out ? '.' : ''}${String(segment)}`;
  }
  return out || '(body)';
}

/** Zod issues as field errors; an unknown field is reported at its own path. */
export function fieldErrors(error: z.ZodError, prefix: PropertyKey[] = []): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: 'is not a known field' }));
    }
    return [{ path: formatPath(path), message: issue.message }];
  });
}

/** A validation error about one field (a header, a query parameter). */
export function fieldProblem(path: string, message: string): ProblemError {
  return new ProblemError('validation-error', { detail: `${path}: ${message}`, errors: [{ path, message }] });
}

export function validationProblem(error: z.ZodError, prefix: PropertyKey[] = []): ProblemError {
  const errors = fieldErrors(error, prefix);
  return new ProblemError('validation-error', { detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ProblemError('not-found', { detail: `No route for ${req.method} ${req.path}` }));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message: string;
}

/** The problem of an error express.json raised, if it is one. */
function bodyParserProblem(error: BodyParserError): ProblemError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return new ProblemError('payload-too-large', { detail: `The body may be at most ${error.limit} bytes.` });
    case 'entity.parse.failed':
      return new ProblemError('malformed-json', { detail: `The body is not valid JSON: ${error.message}`, errors: [{ path: '(body)', message: 'is not valid JSON' }] });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemError('unsupported-media-type', { detail: error.message });
  }
  if (error.status && error.status >= 400 && error.status < 500) return new ProblemError('malformed-request', { detail: error.message });
  return undefined;
}

/** The last middleware: every error leaves as problem+json; unexpected ones are logged, never leaked. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof ProblemError) return writeProblem(res, error);
    if (error instanceof z.ZodError) return writeProblem(res, validationProblem(error));
    if ((error as BodyParserError).type === 'request.aborted') return;
    const parserProblem = bodyParserProblem(error as BodyParserError);
    if (parserProblem) return writeProblem(res, parserProblem);
    if (isRedisUnavailable(error)) {
      logger.warn({ err: error, method: req.method, path: req.path }, 'redis unavailable');
      return writeProblem(res, new ProblemError('redis-unavailable', { detail: 'The queue store (Redis) cannot be reached; try again shortly.' }));
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    writeProblem(res, new ProblemError('internal-error', { detail: 'The service failed to handle this request; it has been logged.' }));
  };
}
