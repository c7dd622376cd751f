import type { Config } from '../config.js';
import { LanguageRegistry } from './LanguageRegistry.js';

/** The languages this deployment defines: built-in ones, LANGUAGES_FILE's, narrowed to ENABLED_LANGUAGES when set. API and worker read the same. */
export function languagesFromConfig(config: Pick<Config, 'LANGUAGES_FILE' | 'ENABLED_LANGUAGES'>): LanguageRegistry {
  const all = LanguageRegistry.load({ file: config.LANGUAGES_FILE });
  if (config.ENABLED_LANGUAGES.length === 0) return all;
  const enabled = config.ENABLED_LANGUAGES.map((name) => {
    const definition = all.find(name);
    if (!definition) throw new Error(`ENABLED_LANGUAGES names ${JSON.stringify(name)}, which no definition has (defined: ${all.names.join(', ')})`);
    return definition;
  });
  return new LanguageRegistry([...new Set(enabled)]);
}
