import type { RequestHandler } from 'express';
import { ADMIN_CHALLENGE, type AdminCredentials } from '../../shared/AdminCredentials.js';
import { ProblemError } from '../errors/ProblemError.js';

/** HTTP Basic with ADMIN_USER / ADMIN_PASSWORD, for Bull Board and /metrics. */
export function requireAdmin(credentials: AdminCredentials): RequestHandler {
  return (req, _res, next) => {
    if (!credentials.accepts(req.get('authorization'))) {
      throw new ProblemError(401, 'Admin credentials required', 'Sign in with ADMIN_USER and ADMIN_PASSWORD (HTTP Basic).', undefined, {
        'WWW-Authenticate': ADMIN_CHALLENGE,
      });
    }
    next();
  };
}
