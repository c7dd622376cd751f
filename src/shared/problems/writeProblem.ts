import type { ServerResponse } from 'node:http';
import type { FieldError, ProblemError } from './ProblemError.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9457 document of a problem; also what a batch item that was refused carries. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

export function problemDocument(problem: ProblemError): ProblemDocument {
  return {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

/** Answers with the problem; any node:http response will do (Express's is one). */
export function writeProblem(res: ServerResponse, problem: ProblemError): void {
  const body = JSON.stringify(problemDocument(problem));
  res
    .writeHead(problem.status, { ...problem.headers, 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) })
    .end(res.req?.method === 'HEAD' ? undefined : body);
}
