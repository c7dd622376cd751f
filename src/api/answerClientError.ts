import type { Duplex } from 'node:stream';

const STATUS_OF: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request header fields too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timeout'],
  HPE_HEADERS_TIMEOUT: [408, 'Request timeout'],
};

/**
 * Node's http server answers a request it cannot even parse (a bad request
 * line, an invalid header, headers too large) with a bare 400 of its own;
 * this makes that answer a problem document too. For the server's
 * 'clientError' event.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title] = STATUS_OF[error.code ?? ''] ?? [400, 'Malformed HTTP request'];
  const body = JSON.stringify({ type: 'urn:sandq:problem:bad-request', title, status, detail: 'The request could not be parsed as HTTP/1.1.' });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
