import { LanguageRegistry } from './LanguageRegistry.js';
import type { LanguageDefinition } from './languageDefinition.js';

/** What waits in a warm sandbox for each launcher. */
const WARM: Record<LanguageDefinition['launcher'], string> = {
  python: 'python3, the program runs in it',
  node: 'node, the program runs in it',
  bash: 'bash, which execs the commands',
};

const LIMIT_NAMES: [keyof LanguageDefinition['limits'], string][] = [
  ['memoryMb', 'memoryMb'],
  ['maxProcesses', 'maxProcesses'],
  ['compileMemoryMb', 'compileMemoryMb'],
  ['compileMaxProcesses', 'compile processes'],
  ['compileTimeoutMs', 'compileTimeoutMs'],
];

const code = (text: string) => `\`${text.replaceAll('|', '\\|').replaceAll('`', "'")}\``;

/** A command as a table cell; a long inline script shows only its start. */
function command(argv: readonly string[]): string {
  const text = argv.join(' ');
  return code(text.length > 60 ? `${text.slice(0, 57)}…` : text);
}

/** The built-in languages as a markdown table, for the generated docs (README). */
export function renderLanguagesMarkdown(): string {
  const rows = LanguageRegistry.load({}).definitions
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((d) => {
      const limits = LIMIT_NAMES.filter(([key]) => d.limits[key] !== undefined).map(([key, label]) => `${label} ${d.limits[key]}`);
      return [
        `${code(d.name)} ${d.displayName}`,
        d.aliases.map(code).join(', ') || '—',
        d.compile ? command(d.compile) : d.transpiler ? 'esbuild, in the sandbox' : '—',
        command(d.run),
        WARM[d.launcher],
        limits.join(', ') || '—',
        d.packages.apt.map(code).join(' '),
      ];
    });
  const header = ['Language', 'Aliases', 'Compile', 'Run', 'Warm sandbox', 'Own limits', 'Debian packages'];
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n') + '\n';
}
