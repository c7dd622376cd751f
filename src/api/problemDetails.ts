import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { isRedisUnavailable } from '../shared/redis.js';
import { type FieldError, ProblemError } from './errors/ProblemError.js';

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'validation-error',
  401: 'unauthorized',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  421: 'misdirected-request',
  429: 'too-many-requests',
  503: 'service-unavailable',
};

/** The RFC 9457 document of a problem; also what a batch item that was refused carries. */
export function problemBody(problem: ProblemError): Record<string, unknown> {
  return {
    type: `urn:sandq:problem:${problem.type ?? TYPE_BY_STATUS[problem.status] ?? 'error'}`,
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

export function sendProblem(res: Response, problem: ProblemError): void {
  res
    .status(problem.status)
    .set({ 'Content-Type': 'application/problem+json', ...problem.headers })
    .send(JSON.stringify(problemBody(problem)));
}

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

export function validationProblem(error: z.ZodError, prefix: PropertyKey[] = []): ProblemError {
  const errors = fieldErrors(error, prefix);
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return new ProblemError(400, 'The request is not valid', detail, errors);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ProblemError(404, 'Not found', `No route for ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message: string;
}

/** The last middleware: every error leaves as problem+json; unexpected ones are logged, never leaked. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof ProblemError) return sendProblem(res, error);
    if (error instanceof z.ZodError) return sendProblem(res, validationProblem(error));
    const parserError = error as BodyParserError;
    switch (parserError.type) {
      case 'entity.too.large':
        return sendProblem(res, new ProblemError(413, 'Request body too large', `The body may be at most ${parserError.limit} bytes.`));
      case 'entity.parse.failed':
        return sendProblem(res, new ProblemError(400, 'Malformed JSON', `The body is not valid JSON: ${parserError.message}`, [{ path: '(body)', message: 'is not valid JSON' }]));
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendProblem(res, new ProblemError(415, 'Unsupported encoding', parserError.message));
      case 'request.aborted':
        return;
    }
    if (parserError.status && parserError.status >= 400 && parserError.status < 500) {
      return sendProblem(res, new ProblemError(parserError.status, 'Bad request', parserError.message));
    }
    if (isRedisUnavailable(error)) {
      logger.warn({ err: error, method: req.method, path: req.path }, 'redis unavailable');
      return sendProblem(res, new ProblemError(503, 'Service unavailable', 'The queue store (Redis) cannot be reached; try again shortly.', undefined, { 'Retry-After': '5' }));
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    sendProblem(res, new ProblemError(500, 'Internal server error', 'The service failed to handle this request; it has been logged.'));
  };
}
