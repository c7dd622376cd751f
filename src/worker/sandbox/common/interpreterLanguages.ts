import type { LanguageDefinition } from '../../../shared/languages/languageDefinition.js';
import type { LanguageVersion, RuntimeVersion } from '../SandboxProvider.js';

/**
 * The languages a provider that knows only its interpreters runs (E2B, the
 * in-memory one): those a warm interpreter serves by itself — python, node
 * (TypeScript where it transpiles), and bash scripts — with the
 * interpreter's version. Compiled languages and other toolchains need a
 * provider that can find them.
 */
export function interpreterLanguages(
  definitions: readonly LanguageDefinition[],
  runtimes: readonly RuntimeVersion[],
  options: { transpiles: boolean; transpilerVersion: string },
): LanguageVersion[] {
  const versionOf = new Map(runtimes.map((r) => [r.runtime, r.version]));
  return definitions.flatMap((definition) => {
    if (definition.compile) return [];
    // Of the bash launcher's languages only bash itself: `bash main.sh`, nothing else named.
    if (definition.launcher === 'bash' && (definition.run.length !== 2 || definition.run[0] !== 'bash' || definition.run[1] !== definition.sourceFile)) return [];
    if (definition.transpiler && !options.transpiles) return [];
    const version = definition.transpiler ? options.transpilerVersion : versionOf.get(definition.launcher);
    return version ? [{ language: definition.name, version }] : [];
  });
}
