import type { RequestHandler } from 'express';
import { ProblemError } from '../../shared/problems/ProblemError.js';
import { isLoopbackHost } from './loopbackHost.js';

/** `name`, `name:port`, `[v6]` or `[v6]:port`: the name part. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::\d*)?$/;

function nameOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : HOST_HEADER.exec(header)?.[1]?.toLowerCase();
}

/**
 * Guards an open API (no API_KEYS) against DNS rebinding: a web page whose
 * domain the attacker re-points at 127.0.0.1 reaches the API from the
 * developer's own browser, but its requests still carry the attacker's name
 * in Host. Only loopback names and addresses are answered, which no outside
 * DNS can hand a page (browsers resolve `*.localhost` themselves), and the
 * names the operator lists in ALLOWED_HOSTS. A request without Host (HTTP/1.0)
 * is refused too: nothing says where it was meant to go.
 */
export function requireLoopbackHost(allowedHosts: readonly string[]): RequestHandler {
  const allowed = new Set(allowedHosts);
  return (req, _res, next) => {
    const header = req.headers.host;
    const name = nameOf(header);
    if (name !== undefined && (isLoopbackHost(name) || name.endsWith('.localhost') || allowed.has(name))) return next();
    const message = header === undefined ? 'is required' : 'is not a loopback name or one of ALLOWED_HOSTS';
    const shown = header === undefined ? 'missing' : JSON.stringify(header);
    throw new ProblemError('misdirected-request', {
      detail: `Host: ${shown}. This API runs without API_KEYS, so it answers only requests addressed to localhost, *.localhost, 127.0.0.0/8 or [::1] (with any port); add the name to ALLOWED_HOSTS to allow it, or set API_KEYS.`,
      errors: [{ path: 'Host', message }],
    });
  };
}
