import { loadConfig, SECRET_VARIABLES, SETTING_GROUPS } from '../shared/config.js';
import type { ApiKeyEntry } from '../shared/apiKeys.js';

function shown(name: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  // The key names say who may call the API; the keys themselves stay hidden.
  if (name === 'API_KEYS') return (value as ApiKeyEntry[]).map((entry) => `${entry.name}:****`).join(',');
  if (SECRET_VARIABLES.has(name)) return '****';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  return String(value);
}

/**
 * Prints the effective configuration group by group, as docs/configuration.md
 * orders it: one `NAME = value (source)` line per setting, the source being
 * `environment` or `default`, secrets masked. Throws the ConfigError of an
 * invalid configuration, like `sandq start`.
 */
export function printConfig(env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): number {
  const config = loadConfig(env) as Record<string, unknown>;
  SETTING_GROUPS.forEach((group, i) => {
    out.write(`${i > 0 ? '\n' : ''}# ${group.title}\n`);
    for (const name of Object.keys(group.settings)) {
      // loadConfig takes an empty variable for an unset one.
      const source = env[name] !== undefined && env[name] !== '' ? 'environment' : 'default';
      out.write(`${name} = ${shown(name, config[name])} (${source})\n`);
    }
  });
  return 0;
}
