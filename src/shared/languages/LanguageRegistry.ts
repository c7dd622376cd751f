import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type LanguageDefinition, languageDefinitionSchema, languagesFileSchema } from './languageDefinition.js';

/** The built-in definitions: `languages/` at the package's root, one JSON file per language. */
export const BUILT_IN_LANGUAGES_DIR = fileURLToPath(new URL('../../../languages/', import.meta.url));

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new Error(`${file} is not a valid language definition: ${issues}`);
}

/**
 * Every language this deployment knows: the built-in definitions, with an
 * operator's LANGUAGES_FILE laid over them (an entry of the same name
 * replaces the built-in one). Which of them a worker really runs is the
 * worker's to find out (its toolchains); this only holds the definitions.
 */
export class LanguageRegistry {
  private readonly byKey = new Map<string, LanguageDefinition>();

  constructor(readonly definitions: readonly LanguageDefinition[]) {
    for (const definition of definitions) {
      for (const key of [definition.name, ...definition.aliases]) {
        const other = this.byKey.get(key);
        if (other && other !== definition) throw new Error(`languages ${other.name} and ${definition.name} both claim the name ${JSON.stringify(key)}`);
        this.byKey.set(key, definition);
      }
    }
  }

  /** Reads the built-in definitions and, when given, an operator's file. */
  static load(options: { file?: string | undefined; builtInDir?: string } = {}): LanguageRegistry {
    const dir = options.builtInDir ?? BUILT_IN_LANGUAGES_DIR;
    const byName = new Map<string, LanguageDefinition>();
    for (const entry of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
      const file = path.join(dir, entry);
      const definition = parsed(languageDefinitionSchema, readJson(file), file);
      if (`${definition.name}.json` !== entry) throw new Error(`${file} defines ${definition.name}: name the file ${definition.name}.json`);
      byName.set(definition.name, definition);
    }
    if (options.file) {
      for (const definition of parsed(languagesFileSchema, readJson(options.file), options.file).languages) byName.set(definition.name, definition);
    }
    return new LanguageRegistry([...byName.values()]);
  }

  /** The definition a name or an alias (`py`, `c++`) stands for. */
  find(nameOrAlias: string): LanguageDefinition | undefined {
    return this.byKey.get(nameOrAlias);
  }

  /** The canonical name for a name or an alias. */
  canonicalName(nameOrAlias: string): string | undefined {
    return this.find(nameOrAlias)?.name;
  }

  /** Every name and alias a request may use, sorted. */
  get keys(): [string, ...string[]] {
    return [...this.byKey.keys()].sort() as [string, ...string[]];
  }

  get names(): string[] {
    return this.definitions.map((d) => d.name).sort();
  }
}
