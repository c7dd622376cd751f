import type { RequestHandler, Response } from 'express';
import type { ApiKeyEntry } from '../../shared/apiKeys.js';
import { OPEN_OWNER } from '../../shared/owner.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';
import { ApiKeyAuthenticator } from './ApiKeyAuthenticator.js';

const REALM = 'Bearer realm="sandq"';
const BEARER = /^Bearer +(\S+) *$/i;

/** The API key name the request was made with (OPEN_OWNER on an open API); set by requireApiKey. */
export function ownerOf(res: Response): string {
  return (res.locals as { owner?: string }).owner ?? OPEN_OWNER;
}

/**
 * `Authorization: Bearer <key>` on every request it guards; the key's name
 * becomes the request's owner. Without keys configured, every request is
 * OPEN_OWNER's.
 */
export function requireApiKey(keys: readonly ApiKeyEntry[] | undefined): RequestHandler {
  if (keys === undefined) {
    return (_req, res, next) => {
      res.locals.owner = OPEN_OWNER;
      next();
    };
  }
  const authenticator = new ApiKeyAuthenticator(keys);
  return (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined) {
      throw new ProblemError('unauthorized', { detail: 'Send an API key as Authorization: Bearer <key>.', headers: { 'WWW-Authenticate': REALM } });
    }
    const token = BEARER.exec(header)?.[1];
    const owner = token === undefined ? undefined : authenticator.ownerOf(token);
    if (owner === undefined) {
      throw new ProblemError('unauthorized', {
        detail: 'The Authorization header does not carry a valid API key (Bearer <key>).',
        headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
      });
    }
    res.locals.owner = owner;
    next();
  };
}
