import type { Runtime } from '../SandboxProvider.js';
import { MAX_BUILT_PROGRAM_BYTES } from '../../program/transpiler.js';
import { LAUNCHER_ABANDONED, TRANSPILED_TOO_LARGE } from '../common/exitStatus.js';
import { nulSpec } from '../common/jobSpec.js';
import { ACK_FD, BASH_NO_STARTUP_FILES, SANDBOX_SPEC_DIR, SANDBOX_WORK_DIR } from './bwrapArguments.js';

/**
 * A sandbox is started before its job is known, with the interpreter already
 * up and blocked on stdin. When the job comes, the worker writes its files
 * into the work dir, and a spec (entry file, args, env) and the job's stdin
 * into the sandbox's spec dir (SANDBOX_SPEC_DIR, read-only inside: nothing of
 * sandq's is in /work), then writes one newline to stdin. The launcher opens
 * the stdin file as its fd 0, takes on the job's argv and environment,
 * acknowledges the job on ACK_FD and closes it, and runs the entry file as
 * the main program, in the same process: that is what makes a warm start fast.
 */
const SPEC = SANDBOX_SPEC_DIR;

/** Where the TypeScript transpiler (esbuild, a static binary) is bound, read-only, in node sandboxes that have it. */
export const TRANSPILER_PATH = '/opt/sandq/bin/esbuild';

/**
 * The job's stdin, a file in the spec dir that becomes the program's fd 0:
 * the worker's end of fd 0 is a socket (what node gives a child), which
 * cannot be opened by path, so `open("/dev/stdin")`, `cat /dev/stdin` or
 * sqlite's `.import /dev/stdin` would fail with ENXIO. A file, as judges
 * give it, can be opened, read, and even seeked.
 */
export const STDIN_FILE = 'stdin';

export interface JobSpec {
  entry: string;
  /** What the bash launcher execs, the args after it (python and node run `entry` in themselves). */
  command: string[];
  /** Set for TypeScript: the launcher runs the transpiler with these arguments first, inside the sandbox, and writes what it prints to `entry`. */
  transpile?: { args: string[] } | undefined;
  args: string[];
  env: Record<string, string>;
}

/**
 * Python: the entry runs as __main__ in a module of its own (so `import
 * __main__` and pickling see the program, not the launcher); compiled and
 * executed directly, which costs a fraction of runpy's path machinery. The
 * launcher's own frame is cut from tracebacks.
 */
/**
 * How a Python program starts once it has its go: the spec read, the job's
 * stdin as fd 0, the job acknowledged, its environment and argv taken on,
 * then the entry run as __main__. A Python case runner runs the same in
 * each case's forked child (see caseRunnerScript.ts).
 */
export const PYTHON_START_PROGRAM = `
import os, sys, types, json, traceback
with open("${SPEC}/spec.json") as f:
    spec = json.load(f)
stdin = os.open("${SPEC}/${STDIN_FILE}", os.O_RDONLY); os.dup2(stdin, 0); os.close(stdin)
os.write(${ACK_FD}, b"1"); os.close(${ACK_FD})
os.environ.clear(); os.environ.update(spec["env"])
sys.argv = [spec["entry"], *spec["args"]]
sys.path[0] = "${SANDBOX_WORK_DIR}"
main = types.ModuleType("__main__")
main.__file__ = spec["entry"]
main.__builtins__ = __builtins__
sys.modules["__main__"] = main
try:
    with open(spec["entry"], "rb") as source:
        code = compile(source.read(), spec["entry"], "exec")
    exec(code, vars(main))
except SystemExit:
    raise
except BaseException as error:
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)
    sys.exit(1)
`;

/** Python: loads what the start needs while idle, not on the job's clock, waits for its go, then PYTHON_START_PROGRAM. */
const PYTHON = `
import os, sys, types
import json, traceback
while True:
    b = os.read(0, 1)
    if b == b"\\n": break
    if not b: os._exit(${LAUNCHER_ABANDONED})
${PYTHON_START_PROGRAM}`;

/**
 * Node: Module.runMain runs the entry as the main module, CommonJS or ES
 * module alike; called from the tick queue rather than from this script, so
 * that no frame of the launcher (`[eval]`) is under the program's in a stack
 * trace, which then reads as under `node main.js`. TypeScript is first
 * bundled by esbuild as a child of this process: in the sandbox, on the
 * job's clock, within its memory and output caps; its errors are the
 * program's stderr and exit status.
 */
const NODE = `
const fs = require("fs");
const b = Buffer.alloc(1);
for (;;) {
  if (fs.readSync(0, b, 0, 1, null) !== 1) process.exit(${LAUNCHER_ABANDONED});
  if (b[0] === 10) break;
}
const spec = JSON.parse(fs.readFileSync("${SPEC}/spec.json", "utf8"));
// Node has no dup2: closed, fd 0 is the lowest free one, which open takes.
fs.closeSync(0);
if (fs.openSync("${SPEC}/${STDIN_FILE}", "r") !== 0) process.exit(${LAUNCHER_ABANDONED});
fs.writeSync(${ACK_FD}, "1");
fs.closeSync(${ACK_FD});
if (spec.transpile) {
  const built = require("child_process").spawnSync(
    "${TRANSPILER_PATH}",
    spec.transpile.args,
    { maxBuffer: ${MAX_BUILT_PROGRAM_BYTES}, stdio: ["ignore", "pipe", "inherit"], env: {} },
  );
  if (built.error) {
    const tooLarge = built.error.code === "ENOBUFS";
    process.stderr.write(tooLarge ? "${TRANSPILED_TOO_LARGE}\\n" : "could not transpile: " + built.error.message + "\\n");
    process.exit(1);
  }
  if (built.signal) process.kill(process.pid, built.signal);
  if (built.status !== 0) process.exit(built.status);
  fs.writeFileSync(spec.entry, built.stdout);
  // Stack traces name the TypeScript files and lines, from the bundle's source map.
  process.setSourceMapsEnabled(true);
}
for (const name of Object.keys(process.env)) delete process.env[name];
Object.assign(process.env, spec.env);
process.argv = [process.execPath, require("path").resolve(spec.entry), ...spec.args];
process.nextTick(require("module").runMain);
`;

/**
 * How a bash-launched program starts once it has its go: the spec is
 * NUL-separated (argc, the command and its args…, NAME=value…); the job's
 * stdin becomes fd 0, the job is acknowledged, and the command runs with
 * only the job's environment: a fresh bash with the entry for bash itself,
 * a compiler, a program. Only builtins until then: a job allowed a single
 * process (`maxProcesses: 1`) has none to spare for the launcher. A case
 * runner runs the same for each case (see caseRunnerScript.ts).
 */
export const BASH_START_PROGRAM = `mapfile -d '' -t spec < ${SPEC}/spec.nul
exec 0< ${SPEC}/${STDIN_FILE}
printf 1 >&${ACK_FD}; exec ${ACK_FD}>&-
argc=\${spec[0]}
exec /usr/bin/env -i "\${spec[@]:1+argc}" "\${spec[@]:1:argc}"`;

/** bash: waits for its go, then BASH_START_PROGRAM. */
const BASH = `
IFS= read -r _ || exit ${LAUNCHER_ABANDONED}
${BASH_START_PROGRAM}
`;

/** The command that starts a warm interpreter; `flags` are the runtime's own (e.g. python -u). */
export function launcherCommand(runtime: Runtime, executable: string, flags: string[]): string[] {
  switch (runtime) {
    case 'python':
      return [executable, ...flags, '-c', PYTHON];
    case 'node':
      return [executable, ...flags, '-e', NODE];
    case 'bash':
      return [executable, ...BASH_NO_STARTUP_FILES, '-c', BASH];
  }
}

/** The spec files the launcher reads: JSON for python and node, NUL-separated fields for bash. */
export function specFiles(spec: JobSpec): { json: string; nul: string } {
  return { json: JSON.stringify(spec), nul: nulSpec([], [...spec.command, ...spec.args], spec.env) };
}
