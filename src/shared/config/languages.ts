import { z } from 'zod';
import { commaList, positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const languageSettings = settingGroup(
  'Languages',
  'Which languages are offered and how compiled ones are bounded ([API](api.md#languages)). API and workers must read the same definitions.',
  {
    LANGUAGES_FILE: setting(z.string().min(1).optional(), {
      description: 'A JSON file `{"languages": [definition, …]}` that adds languages or replaces built-in ones of the same name (format: `languages/*.json`).',
    }),
    ENABLED_LANGUAGES: setting(commaList('').pipe(z.array(z.string().min(1))), {
      description: 'Offer only these languages (names or aliases, comma-separated); empty: every defined language whose toolchain the worker finds.',
    }),
    COMPILE_TIMEOUT_MS_DEFAULT: setting(positiveInt.default(10_000), { unit: 'ms', description: '`limits.compileTimeoutMs` when a request has none (a language may ask for more).' }),
    COMPILE_TIMEOUT_MS_MAX: setting(positiveInt.default(60_000), { unit: 'ms', description: 'The largest `limits.compileTimeoutMs`.' }),
    COMPILE_MEMORY_MB_DEFAULT: setting(positiveInt.default(512), { unit: 'MiB', description: '`limits.compileMemoryMb` when a request has none (a language may ask for more).' }),
    COMPILE_MEMORY_MB_MAX: setting(positiveInt.default(2048), { unit: 'MiB', description: 'The largest `limits.compileMemoryMb`.' }),
  },
);

export const COMPILE_LIMIT_PAIRS = [
  ['COMPILE_TIMEOUT_MS_DEFAULT', 'COMPILE_TIMEOUT_MS_MAX'],
  ['COMPILE_MEMORY_MB_DEFAULT', 'COMPILE_MEMORY_MB_MAX'],
] as const;
