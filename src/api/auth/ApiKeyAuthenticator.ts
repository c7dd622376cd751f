import { timingSafeEqual } from 'node:crypto';
import { type ApiKeyEntry, sha256 } from '../../shared/apiKeys.js';

/**
 * Finds whose API key a Bearer token is. Only SHA-256 digests of the keys are
 * held; the token's digest is compared with every one of them in constant
 * time, without stopping at a match, so neither which key matched nor how
 * much of one did shows in the time taken.
 */
export class ApiKeyAuthenticator {
  constructor(private readonly keys: readonly ApiKeyEntry[]) {}

  ownerOf(token: string): string | undefined {
    const digest = sha256(token);
    let owner: string | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.hash) && owner === undefined) owner = key.name;
    }
    return owner;
  }
}
