import { z } from 'zod';
import { parseApiKeys } from '../apiKeys.js';
import { commaList } from './types.js';
import { setting, settingGroup } from './setting.js';

/** A host name or address as a Host header carries it, without the port; IPv6 in brackets. */
const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)$/;

/** `name:key,…`, parsed and hashed at once: the keys themselves are not kept in the config. */
const apiKeys = z.string().transform((value, ctx) => {
  try {
    return parseApiKeys(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const accessSettings = settingGroup(
  'Access',
  'Who may use the API and the admin pages. Unset `API_KEYS` means an open API, allowed on a loopback `HOST` only and never in production ([Security](security.md#access)).',
  {
    API_KEYS: setting(apiKeys.optional(), {
      description:
        '`name:key,name2:key2`: who may use `/v1` (`Authorization: Bearer <key>`). A key is 16+ characters of `A–Z a–z 0–9 - . _ ~ + /`, or `sha256:<64 hex>`, its hash. A name may have several keys (rotation).',
    }),
    ADMIN_USER: setting(z.string().min(1).max(128).regex(/^[^:]+$/, 'must not contain ":"').optional(), {
      description: 'HTTP Basic user for Bull Board and `/metrics` (API and worker); set with `ADMIN_PASSWORD`.',
    }),
    ADMIN_PASSWORD: setting(z.string().min(12, 'use at least 12 characters').max(1024).optional(), {
      description: 'Its password, 12+ characters.',
    }),
    ADMIN_BOARD_WRITES: setting(z.stringbool().default(false), {
      description: '`true` lets Bull Board change the queues (retry, remove, clean, pause, add jobs); `false`: it only shows them, and its write actions answer `405`.',
    }),
    ALLOWED_HOSTS: setting(
      commaList('')
        .transform((hosts) => hosts.map((h) => h.toLowerCase()))
        .pipe(z.array(z.string().regex(HOST_NAME, 'use host names or addresses without a port, IPv6 in brackets, separated by commas'))),
      {
        description: '`name,name2`: host names (no port) an open API answers besides the loopback ones, its guard against DNS rebinding; every other `Host` gets `421`. Not read when `API_KEYS` is set.',
      },
    ),
  },
);
