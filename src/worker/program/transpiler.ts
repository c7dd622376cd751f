import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The largest program a transpile may produce: a few source bytes can fold
 * into megabytes (enum members that each double a string), so the sandbox
 * stops the transpiler past this, as it stops a program's output.
 */
export const MAX_BUILT_PROGRAM_BYTES = 8 * 1024 * 1024;

/**
 * What a bundled ES module gets of CommonJS, as `node main.js` gives a
 * CommonJS program: `require` (esbuild renames a program's own binding of
 * that name), `__filename` and `__dirname` (bound by `--define` under names
 * of their own, so a program may still declare those).
 */
const COMMONJS_BANNER = [
  'import{createRequire as __sandqCreateRequire}from"node:module";',
  'const require=__sandqCreateRequire(import.meta.url),',
  '__sandqFilename=require("node:url").fileURLToPath(import.meta.url),',
  '__sandqDirname=require("node:path").dirname(__sandqFilename);',
].join('');

/**
 * esbuild's flags to bundle a TypeScript entry file, run in the work dir:
 * the program's own files it imports (`./helper`, `./lib/util.ts`) are
 * bundled into one program on stdout, packages and node's modules are left
 * to node; types stripped (not checked), errors only. An ES module, so that
 * top-level await works, with what CommonJS programs use (COMMONJS_BANNER).
 * Its inline source map (without the sources, which are in the work dir)
 * lets node's stack traces name the TypeScript files and lines.
 */
export function transpilerArgs(entryFile: string, nodeVersion: string | undefined): string[] {
  return [
    entryFile,
    ...['--bundle', '--platform=node', '--format=esm', '--packages=external'],
    ...(nodeVersion ? [`--target=node${nodeVersion}`] : []),
    `--banner:js=${COMMONJS_BANNER}`,
    '--define:__filename=__sandqFilename',
    '--define:__dirname=__sandqDirname',
    '--sourcemap=inline',
    '--sources-content=false',
    '--log-level=error',
  ];
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
