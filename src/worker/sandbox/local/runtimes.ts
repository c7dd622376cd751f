import { realpathSync } from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../../../shared/findExecutable.js';
import type { LanguageDefinition } from '../../../shared/languages/languageDefinition.js';
import type { Runtime } from '../SandboxProvider.js';
import { INTERPRETERS, RUNTIMES } from '../common/interpreters.js';

export interface RuntimeCommand {
  runtime: Runtime;
  /** Absolute path as seen both on the host and inside the sandbox (it lives under /usr). */
  executable: string;
  versionArgs: readonly string[];
}

/**
 * Only directories the sandbox mounts are searched: an interpreter under
 * /root/.pyenv or /home would not exist inside the sandbox.
 */
const SANDBOX_VISIBLE_PATH = ['/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);

function locate(name: string): string | undefined {
  const found = findExecutable(name, SANDBOX_VISIBLE_PATH);
  if (!found) return undefined;
  const real = realpathSync(found);
  return real.startsWith('/usr/') ? found : undefined;
}

/** Finds python3, node and bash where the sandbox can see them; missing ones are left out. */
export function locateRuntimes(): RuntimeCommand[] {
  return RUNTIMES.flatMap((runtime) => {
    const { name, versionArgs } = INTERPRETERS[runtime];
    const executable = locate(name);
    return executable ? [{ runtime, executable, versionArgs }] : [];
  });
}

const resolved = new Map<string, string>();

/**
 * A definition's command with its program named by absolute path (`gcc` →
 * `/usr/bin/gcc`), found where the sandbox sees it: the request's own `env`
 * may set PATH, and that must not change which compiler runs. Relative
 * names (`./main`) and names not found are left as they are.
 */
export function resolveCommand(command: readonly string[]): string[] {
  const [name, ...rest] = command;
  if (name === undefined || name.includes('/')) return [...command];
  let found = resolved.get(name);
  if (found === undefined) {
    found = locate(name) ?? name;
    resolved.set(name, found);
  }
  return [found, ...rest];
}

/**
 * The programs of a definition's commands (version, compile, run) that are
 * not installed where the sandbox sees them; none means its toolchain is
 * installed. `./main` is what the compile writes, and an absolute path is
 * the definition's own (the bundled transpiler is one only inside the sandbox).
 */
export function missingPrograms(definition: Pick<LanguageDefinition, 'version' | 'compile' | 'run'>): string[] {
  const commands = [definition.version, ...(definition.compile ? [definition.compile] : []), definition.run];
  const programs = commands.map((command) => resolveCommand(command)[0]!);
  return [...new Set(programs.filter((program) => !program.startsWith('/') && !program.startsWith('./')))];
}
