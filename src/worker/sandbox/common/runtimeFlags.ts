import type { Runtime } from '../SandboxProvider.js';

/** The interpreter's major version from `--version` text (`v20.11.0`, `3.12.1`); 0 when unknown. */
function majorVersion(version: string | undefined): number {
  return Number(/^v?(\d+)/.exec(version ?? '')?.[1] ?? 0);
}

/** Arguments placed before the entry file, chosen by the interpreter's own version (undefined: not known). */
export function runtimeFlags(runtime: Runtime, version: string | undefined): string[] {
  switch (runtime) {
    case 'python':
      // Unbuffered, so output reaches the client while the program runs.
      return ['-u'];
    case 'node':
      // Node 20 needs the flag to run CommonJS and ES modules alike from a .js file; 22+ detects by default.
      return majorVersion(version) < 22 ? ['--experimental-detect-module'] : [];
    case 'bash':
      return [];
  }
}

/** Node's version as the transpiler's target wants it (`20.11.0`), from `node --version` text. */
export function transpilerNodeVersion(version: string | undefined): string | undefined {
  return version?.replace(/^v/, '');
}
