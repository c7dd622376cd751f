import { lookup } from 'node:dns/promises';
import { ipLiteralOf, isPrivateAddress } from '../../shared/privateAddress.js';
import { RefusedTargetError } from './RefusedTargetError.js';

/** The one address a delivery connects to: the one that was checked. */
export interface WebhookTarget {
  address: string;
  family: 4 | 6;
}

type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves the URL's host and checks every address it resolves to: one
 * private, loopback or link-local address refuses the target (unless the
 * operator allows them). The caller must connect to the returned address, not
 * resolve the name again, or a second DNS answer could point elsewhere.
 */
export async function resolveWebhookTarget(url: URL, allowPrivate: boolean, resolve: Resolver = systemResolver): Promise<WebhookTarget> {
  const literal = ipLiteralOf(url.hostname);
  const addresses = literal ? [{ address: literal, family: literal.includes(':') ? 6 : 4 }] : await resolve(url.hostname);
  const first = addresses[0];
  if (!first) throw new Error(`${url.hostname} has no address`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      throw new RefusedTargetError(
        `${url.hostname} resolves to ${refused.address}, a private, loopback or link-local address; set WEBHOOK_ALLOW_PRIVATE=true to deliver there`,
      );
    }
  }
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
