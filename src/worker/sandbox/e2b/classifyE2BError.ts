import { AuthenticationError, RateLimitError, SandboxNotFoundError, ServiceBusyError, TimeoutError } from 'e2b';

/**
 * - `auth`: E2B rejected the API key; no retry can help.
 * - `transient`: rate limited, busy, a 5xx, a timeout or a dropped
 *   connection; worth another try after a pause.
 * - `gone`: the sandbox no longer exists.
 * - `other`: anything else (a bad template name, a bug).
 */
export type E2BFault = 'auth' | 'transient' | 'gone' | 'other';

export function classifyE2BError(error: unknown): E2BFault {
  if (error instanceof AuthenticationError) return 'auth';
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (status === 401 || status === 403) return 'auth';
  if (error instanceof SandboxNotFoundError) return 'gone';
  if (error instanceof RateLimitError || error instanceof ServiceBusyError || error instanceof TimeoutError) return 'transient';
  if (typeof status === 'number' && status >= 500) return 'transient';
  if (!(error instanceof Error)) return 'other';
  // fetch's own failures: the request timeout (AbortSignal.timeout), a refused or reset connection.
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'transient';
  if (error instanceof TypeError && /fetch failed|terminated|ECONN|socket/i.test(`${error.message} ${String(error.cause)}`)) return 'transient';
  return 'other';
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
