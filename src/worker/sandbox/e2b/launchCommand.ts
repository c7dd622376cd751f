import { RESERVED_DIR } from '../../../shared/contract/languages.js';
import { MAX_BUILT_PROGRAM_BYTES, transpilerArgs } from '../../program/transpiler.js';
import type { Program, ProgramFile, Runtime, RuntimeVersion } from '../SandboxProvider.js';
import { LAUNCHER_ABANDONED, TRANSPILED_TOO_LARGE } from '../common/exitStatus.js';
import { nulSpec } from '../common/jobSpec.js';
import { INTERPRETERS, RUNTIMES, versionFromAnswer } from '../common/interpreters.js';
import { runtimeFlags, transpilerNodeVersion } from '../common/runtimeFlags.js';
import { programEnvironment, sandboxEnvironment } from '../common/sandboxEnvironment.js';

/** The program's cwd and HOME inside the E2B sandbox, under the default user's home. */
export const WORK_DIR = '/home/user/work';
/** Relative to the cwd (WORK_DIR), so the command names no absolute path. */
const SPEC_DIR = RESERVED_DIR;

/** The environment every program starts from, as on the local provider; the job's `env` is added to it. */
const BASE_ENV = sandboxEnvironment({ workDir: WORK_DIR, searchPath: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });

/** Where a TypeScript job's transpiler travels with its files: the worker's own esbuild, a static x86-64 binary like the VM. */
const TRANSPILER = `${SPEC_DIR}/esbuild`;

/**
 * What the worker uploads besides the job's files: the spec (argc, args,
 * then NAME=value, NUL-separated) and the job's stdin, and for TypeScript the
 * transpiler. Through files rather than the command line, argv and stdin
 * RPCs: no size limit on a command line to hit, and one upload instead of
 * three round trips.
 */
export function specFiles(program: Program, transpiler: Buffer | undefined): ProgramFile[] {
  const spec = nulSpec([], program.args, programEnvironment(BASE_ENV, program.env));
  return [
    { path: `${RESERVED_DIR}/spec.nul`, content: Buffer.from(spec) },
    { path: `${RESERVED_DIR}/stdin`, content: Buffer.from(program.stdin) },
    ...(program.transpile && transpiler ? [{ path: TRANSPILER, content: transpiler }] : []),
  ];
}

/**
 * The command envd runs (under `bash -l -c`): takes the job's stdin and
 * spec, bundles TypeScript in the VM (its output capped like a local
 * sandbox's), removes what it was handed, then execs the interpreter with
 * nothing of envd's own environment (E2B_SANDBOX_ID and the like) but the
 * spec's. Nothing from the request is in this text.
 */
export function launchCommand(program: Pick<Program, 'runtime' | 'entryFile' | 'transpile'>, versions: readonly RuntimeVersion[]): string {
  const { runtime, entryFile, transpile } = program;
  const lines = [`exec 0<${SPEC_DIR}/stdin && mapfile -d '' -t spec < ${SPEC_DIR}/spec.nul || exit ${LAUNCHER_ABANDONED}`];
  if (transpile) {
    const nodeVersion = transpilerNodeVersion(versionOf('node', versions));
    const args = transpilerArgs(transpile.from, nodeVersion).map(shellQuote).join(' ');
    lines.push(
      `chmod 700 ${TRANSPILER} && ${TRANSPILER} ${args} | head -c ${MAX_BUILT_PROGRAM_BYTES + 1} > ${shellQuote(entryFile)}; built=\${PIPESTATUS[0]}`,
      `rm -rf ${SPEC_DIR}`,
      `if [ "$(stat -c %s ${shellQuote(entryFile)})" -gt ${MAX_BUILT_PROGRAM_BYTES} ]; then echo "${TRANSPILED_TOO_LARGE}" >&2; exit 1; fi`,
      '[ "$built" = 0 ] || exit "$built"',
    );
  } else {
    lines.push(`rm -rf ${SPEC_DIR}`);
  }
  // A bundle's stack traces name the TypeScript files and lines, from its source map.
  const command = [...interpreter(runtime, versions), ...(transpile ? ['--enable-source-maps'] : []), shellQuote(entryFile)];
  lines.push('argc=${spec[0]}', `exec /usr/bin/env -i "\${spec[@]:1+argc}" ${command.join(' ')} "\${spec[@]:1:argc}"`);
  return lines.join('\n');
}

function versionOf(runtime: Runtime, versions: readonly RuntimeVersion[]): string | undefined {
  const version = versions.find((v) => v.runtime === runtime)?.version;
  return version === 'unknown' ? undefined : version;
}

/** The template's interpreter, by its name on the template's PATH, with its flags. */
function interpreter(runtime: Runtime, versions: readonly RuntimeVersion[]): string[] {
  return [INTERPRETERS[runtime].name, ...runtimeFlags(runtime, versionOf(runtime, versions))];
}

/** Asks the template's interpreters their versions, one `name=…` line each. */
export const PROBE_COMMAND = [
  `export PATH=${BASE_ENV.PATH}`,
  ...RUNTIMES.map((runtime) => {
    const { name, versionArgs } = INTERPRETERS[runtime];
    return `echo "${runtime}=$(${[name, ...versionArgs].map(shellQuote).join(' ')} 2>&1)"`;
  }),
].join('; ');

/** An answer that is a version, not an error message (a missing interpreter answers through the shell). */
const VERSION = /^v?\d+\.\d+\.\d+\S*$/;

/** The runtimes the probe found, with versions written as the local provider writes them. */
export function parseProbe(output: string): RuntimeVersion[] {
  return RUNTIMES.flatMap((runtime) => {
    const answer = new RegExp(`^${runtime}=(.*)$`, 'm').exec(output)?.[1];
    const version = answer === undefined ? undefined : versionFromAnswer(answer);
    return version !== undefined && VERSION.test(version) ? [{ runtime, version }] : [];
  });
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
