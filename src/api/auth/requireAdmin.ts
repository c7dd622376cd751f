import type { RequestHandler } from 'express';
import type { AdminCredentials } from '../../shared/AdminCredentials.js';
import { adminCredentialsRequired } from '../../shared/problems/adminCredentialsRequired.js';

/** HTTP Basic with ADMIN_USER / ADMIN_PASSWORD, for Bull Board and /metrics. */
export function requireAdmin(credentials: AdminCredentials): RequestHandler {
  return (req, _res, next) => {
    if (!credentials.accepts(req.get('authorization'))) throw adminCredentialsRequired();
    next();
  };
}
