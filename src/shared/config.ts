import { ConfigError } from './errors/ConfigError.js';
import { configSchema, type Config } from './config/schema.js';

export { configSchema, SETTING_GROUPS, type Config } from './config/schema.js';

/** Variables whose values never go into messages or logs. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(['WEBHOOK_SECRET', 'API_KEYS', 'ADMIN_PASSWORD', 'E2B_API_KEY']);
/** Secrets whose messages already say which part is wrong (API_KEYS: "entry 2 (name "bob")"); a length of the whole would mislead. */
const SELF_DESCRIBING_SECRETS = new Set(['API_KEYS']);

/** Reads the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = present[name];
      if (got === undefined || SELF_DESCRIBING_SECRETS.has(name)) return `${name}: ${issue.message}`;
      // A secret's value never goes into messages or logs.
      return `${name}: ${issue.message} (got ${SECRET_VARIABLES.has(name) ? `${got.length} characters` : JSON.stringify(got)})`;
    }),
  );
}

/** RESULT_TTL_MS in whole seconds, the unit of Redis expiries and BullMQ's job ages. */
export function resultTtlSeconds(config: Pick<Config, 'RESULT_TTL_MS'>): number {
  return Math.ceil(config.RESULT_TTL_MS / 1000);
}
