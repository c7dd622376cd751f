import { timingSafeEqual } from 'node:crypto';
import { sha256 } from './apiKeys.js';

/** The challenge that makes a browser ask for the admin's user and password. */
export const ADMIN_CHALLENGE = 'Basic realm="sandq admin", charset="UTF-8"';

/**
 * ADMIN_USER / ADMIN_PASSWORD, checked from an HTTP Basic Authorization
 * header. Both sides are compared as SHA-256 digests with timingSafeEqual, so
 * the time taken says nothing about how much of either matched; the user and
 * the password are both always compared.
 */
export class AdminCredentials {
  private readonly user: Buffer;
  private readonly password: Buffer;

  constructor(user: string, password: string) {
    this.user = sha256(user);
    this.password = sha256(password);
  }

  accepts(authorization: string | undefined): boolean {
    const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userMatches = timingSafeEqual(sha256(decoded.slice(0, colon)), this.user);
    const passwordMatches = timingSafeEqual(sha256(decoded.slice(colon + 1)), this.password);
    return userMatches && passwordMatches;
  }
}
