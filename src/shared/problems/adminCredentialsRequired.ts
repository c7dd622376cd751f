import { ADMIN_CHALLENGE } from '../AdminCredentials.js';
import { ProblemError } from './ProblemError.js';

/** The answer of the API's admin routes and of the worker's /metrics to a request without ADMIN_USER/ADMIN_PASSWORD. */
export function adminCredentialsRequired(): ProblemError {
  return new ProblemError('unauthorized', {
    detail: 'Sign in with ADMIN_USER and ADMIN_PASSWORD (HTTP Basic).',
    headers: { 'WWW-Authenticate': ADMIN_CHALLENGE },
  });
}
