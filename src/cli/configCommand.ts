import { configSchema, loadConfig } from '../shared/config.js';
import type { ApiKeyEntry } from '../shared/apiKeys.js';

/** Settings whose values never leave the process: shown as set or not, never as they are. */
const SECRETS = new Set(['WEBHOOK_SECRET', 'ADMIN_PASSWORD', 'E2B_API_KEY']);

function shown(name: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  // The key names say who may call the API; the keys themselves stay hidden.
  if (name === 'API_KEYS') return (value as ApiKeyEntry[]).map((entry) => `${entry.name}:****`).join(',');
  if (SECRETS.has(name)) return '****';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  return String(value);
}

/**
 * Prints the effective configuration, one `NAME = value (source)` line per
 * setting in the schema's order; the source is `environment` or `default`.
 * Throws the ConfigError of an invalid configuration, like `sandq start`.
 */
export function printConfig(env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): number {
  const config = loadConfig(env) as Record<string, unknown>;
  for (const name of Object.keys(configSchema.shape)) {
    // loadConfig takes an empty variable for an unset one.
    const source = env[name] !== undefined && env[name] !== '' ? 'environment' : 'default';
    out.write(`${name} = ${shown(name, config[name])} (${source})\n`);
  }
  return 0;
}
