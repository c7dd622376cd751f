import type { Duplex } from 'node:stream';
import type { ProblemSlug } from '../shared/problems/problemCatalogue.js';
import { ProblemError } from '../shared/problems/ProblemError.js';
import { PROBLEM_CONTENT_TYPE, problemDocument } from '../shared/problems/writeProblem.js';

const KIND_OF: Record<string, ProblemSlug> = {
  HPE_HEADER_OVERFLOW: 'headers-too-large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request-timeout',
  HPE_HEADERS_TIMEOUT: 'request-timeout',
};

/**
 * Node's http server answers a request it cannot even parse (a bad request
 * line, an invalid header, headers too large) with a bare 400 of its own;
 * this makes that answer a problem document too. For the server's
 * 'clientError' event, which hands over the socket rather than a response.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = new ProblemError(KIND_OF[error.code ?? ''] ?? 'malformed-request', { detail: 'The request could not be parsed as HTTP/1.1.' });
  const body = JSON.stringify(problemDocument(problem));
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
