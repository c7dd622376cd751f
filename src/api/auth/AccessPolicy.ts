import type { Config } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors/ConfigError.js';
import { isLoopbackHost } from './loopbackHost.js';

/** `basic`: ADMIN_USER/ADMIN_PASSWORD asked; `open`: no credentials (open API on loopback only); `off`: not served. */
export type AdminAccess = 'basic' | 'open' | 'off';

/**
 * Who may use what, decided once from the configuration. Without API_KEYS
 * the API is open, which is refused in production and on any address but
 * loopback. Bull Board and /metrics take the admin credentials; without them
 * they are served only by an open API (then loopback-only too), never by one
 * that has keys or runs in production.
 */
export class AccessPolicy {
  private constructor(
    /** True when requests need no API key (API_KEYS unset). */
    readonly open: boolean,
    readonly admin: AdminAccess,
  ) {}

  /** Throws ConfigError when the API may not start with this configuration. */
  static of(config: Config): AccessPolicy {
    const open = config.API_KEYS === undefined;
    const production = config.NODE_ENV === 'production';
    if (open && production) {
      throw new ConfigError(['API_KEYS: required when NODE_ENV=production; the API runs code for anyone who can reach it']);
    }
    if (open && !isLoopbackHost(config.HOST)) {
      throw new ConfigError([`HOST: ${JSON.stringify(config.HOST)} is not a loopback address, and API_KEYS is not set; set API_KEYS, or listen on 127.0.0.1`]);
    }
    const admin: AdminAccess = config.ADMIN_USER !== undefined ? 'basic' : open && !production ? 'open' : 'off';
    return new AccessPolicy(open, admin);
  }
}
