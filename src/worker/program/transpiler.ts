import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The largest program a transpile may produce: a few source bytes can fold
 * into megabytes (enum members that each double a string), so the sandbox
 * stops the transpiler past this, as it stops a program's output.
 */
export const MAX_BUILT_PROGRAM_BYTES = 8 * 1024 * 1024;

/** esbuild's flags for one TypeScript file, read on stdin: types stripped (not checked), errors only. */
export function transpilerArgs(sourceFile: string, nodeVersion: string | undefined): string[] {
  return ['--loader=ts', ...(nodeVersion ? [`--target=node${nodeVersion}`] : []), '--log-level=error', `--sourcefile=${sourceFile}`];
}

/**
 * The esbuild binary that transpiles TypeScript inside the sandboxes: a
 * static executable, so a sandbox needs nothing else of the worker's to run
 * it. ESBUILD_BINARY_PATH (esbuild's own variable) wins; otherwise the
 * platform package esbuild installed. Undefined when neither is there.
 */
export function locateTranspiler(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.ESBUILD_BINARY_PATH];
  try {
    candidates.push(require.resolve(`@esbuild/${process.platform}-${process.arch}/bin/esbuild`));
  } catch {
    // not installed for this platform
  }
  return candidates.find((file): file is string => {
    if (!file) return false;
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The bundled transpiler's version, as `esbuild --version` prints it. */
export function transpilerVersion(): string {
  return (require('esbuild/package.json') as { version: string }).version;
}
