import type { Config } from '../shared/config.js';
import { findExecutable } from '../shared/findExecutable.js';
import type { LanguageDefinition } from '../shared/languages/languageDefinition.js';
import type { LanguageRegistry } from '../shared/languages/LanguageRegistry.js';
import { languagesFromConfig } from '../shared/languages/languagesFromConfig.js';
import { missingPrograms } from '../worker/sandbox/local/runtimes.js';
import { aptGetCommands, isPackageInstalled, runCommand } from './aptGet.js';

/** The options of `sandq languages list` and `sandq languages install`, as node:util's parseArgs takes them. */
export const LIST_OPTIONS = { json: { type: 'boolean' } } as const;
export const INSTALL_OPTIONS = { all: { type: 'boolean' }, 'dry-run': { type: 'boolean' } } as const;

/** The options parseArgs found: those above, and --help. */
type LanguagesOptions = Readonly<Record<string, unknown>>;

interface Output {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** `sandq languages list|install …`: `args` are the words after `languages`. Returns the exit code. */
export function languages(args: readonly string[], options: LanguagesOptions, config: Config, io: Output = { out: process.stdout, err: process.stderr }): number {
  const [subcommand = 'list', ...names] = args;
  const registry = languagesFromConfig(config);
  if (subcommand === 'list' && names.length === 0) return list(registry, options.json === true, io);
  if (subcommand === 'install') return install(registry, names, options, io);
  io.err.write(subcommand === 'list' ? `sandq: languages list takes no arguments. See \`sandq languages list --help\`.\n` : `sandq: Unknown languages command "${subcommand}". See \`sandq languages --help\`.\n`);
  return 2;
}

interface LanguageState {
  name: string;
  displayName: string;
  aliases: string[];
  compiled: boolean;
  installed: boolean;
  /** Programs of its commands not found under /usr. */
  missing: string[];
  packages: { apt: string[] };
}

function stateOf(definition: LanguageDefinition): LanguageState {
  const missing = missingPrograms(definition);
  const { name, displayName, aliases, packages } = definition;
  return { name, displayName, aliases, compiled: definition.compile !== undefined, installed: missing.length === 0, missing, packages };
}

function list(registry: LanguageRegistry, json: boolean, { out }: Output): number {
  const states = registry.names.map((name) => stateOf(registry.find(name)!));
  if (json) {
    out.write(`${JSON.stringify(states, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['LANGUAGE', 'ALIASES', 'COMPILED', 'INSTALLED', 'APT PACKAGES'],
    ...states.map((s) => [s.name, s.aliases.join(',') || '-', s.compiled ? 'yes' : 'no', s.installed ? 'yes' : `no (${s.missing.join(', ')} missing)`, s.packages.apt.join(' ') || '-']),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) out.write(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 2))).join('')}\n`);
  return 0;
}

function install(registry: LanguageRegistry, names: readonly string[], options: LanguagesOptions, { out, err }: Output): number {
  if (options.all === true ? names.length > 0 : names.length === 0) {
    err.write('sandq: name the languages to install, or give --all. See `sandq languages install --help`.\n');
    return 2;
  }
  const unknown = names.filter((name) => !registry.find(name));
  if (unknown.length > 0) {
    err.write(`sandq: Unknown language${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}. Defined: ${registry.names.join(', ')} (or an alias \`sandq languages list\` shows).\n`);
    return 2;
  }
  const chosen = options.all === true ? registry.definitions : [...new Set(names.map((name) => registry.find(name)!))];
  const packages = [...new Set(chosen.flatMap((d) => d.packages.apt))];
  out.write(`Languages: ${chosen.map((d) => d.name).join(', ')}\nPackages: ${packages.join(' ') || '(none)'}\n`);

  if (!findExecutable('apt-get')) {
    const [update, installAll] = aptGetCommands(packages);
    err.write(
      `sandq: this host has no apt-get. Install the packages above (Debian's names) with its own package manager; on Debian or Ubuntu it would be:\n  ${update!.join(' ')} && ${installAll!.join(' ')}\n`,
    );
    return 1;
  }
  const wanted = packages.filter((name) => !isPackageInstalled(name));
  if (wanted.length === 0) {
    out.write(`Nothing to install: ${packages.length > 0 ? 'every package is already installed' : 'they need no packages'}.\n`);
    return stillMissing(chosen, err);
  }
  if (wanted.length < packages.length) out.write(`Already installed: ${packages.filter((name) => !wanted.includes(name)).join(' ')}\n`);
  const commands = aptGetCommands(wanted);
  if (options['dry-run'] === true) {
    out.write(`Would run:\n${commands.map((argv) => `  ${argv.join(' ')}\n`).join('')}`);
    return 0;
  }
  for (const argv of commands) {
    out.write(`==> ${argv.join(' ')}\n`);
    const code = runCommand(argv);
    if (code !== 0) {
      err.write(`sandq: \`${argv.join(' ')}\` exited ${code}.\n`);
      return 1;
    }
  }
  return stillMissing(chosen, err);
}

/** Exit code 1, naming them, when some of the languages still lack a program their packages should have brought. */
function stillMissing(chosen: readonly LanguageDefinition[], err: NodeJS.WritableStream): number {
  const lacking = chosen.map(stateOf).filter((s) => !s.installed);
  for (const s of lacking) err.write(`sandq: ${s.name}: ${s.missing.join(', ')} not found under /usr even with ${s.packages.apt.join(' ') || 'its packages'} installed; check its definition's packages.\n`);
  return lacking.length > 0 ? 1 : 0;
}
