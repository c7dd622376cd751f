import { LAUNCHER_ABANDONED } from '../common/exitStatus.js';
import type { Runtime } from '../SandboxProvider.js';
import { ACK_FD, BASH_NO_STARTUP_FILES, RUNNER_SHELL_PATH, SANDBOX_SPEC_DIR, SANDBOX_WORK_DIR, WORK_BASE_DIR } from './bwrapArguments.js';
import { BASH_START_PROGRAM } from './launchers.js';
/** A file of one newline in the spec dir: each case's launcher reads its go signal from it. */
export const GO_FILE = 'go';

/**
 * What the runner writes on ACK_FD, its line back to the worker (the
 * launcher it starts for a case writes its own acknowledgement there too,
 * and closes it before the program runs).
 */
export const RUNNER_SAYS = {
  /** The sandbox state is fresh: /work a new copy of the job's work dir, /tmp, /dev/shm and IPC empty. */
  ready: 'R',
  /** The reset failed: what the job's work dir holds does not fit /work, or something a case left could not be removed. */
  resetFailed: 'F',
  /** A case's launcher took its job (LAUNCHERS' acknowledgement). */
  started: '1',
  /** `S<exit status>;`: a case's program ended (a shell's status: 128 + n for signal n) and nothing of it is left. */
  status: 'S',
} as const;

/**
 * The test cases' runner: pid 1 of one sandbox that runs a submission's
 * cases one after another, each in a fresh sandbox state, without a
 * sandbox start per case. It reads the worker's commands, a line each, on
 * stdin:
 *
 * - `reset`: empties /work, /tmp, /dev/shm and the IPC namespace (System V
 *   objects, POSIX message queues), copies the job's work dir (read-only at
 *   WORK_BASE_DIR) into /work, and says `R` (or `F`).
 * - `go <token>`: starts the case's program in the foreground: for bash-run
 *   programs (compiled ones included) as bash's launcher would once it has
 *   its go, in a subshell; for the others, their runtime's launcher (this
 *   script's arguments) with the go file as stdin. When it ends, kills every
 *   process it left, then writes the token to stdout and to stderr, and
 *   `S<status>;` on ACK_FD. The worker takes everything before the token
 *   as the case's output: only then is nothing of the case left to write,
 *   and the case cannot forge it, for it never sees the token.
 *
 * Why a case cannot reach the runner though both run as the same uid:
 * - it is pid 1 of the pid namespace, which ignores every signal sent from
 *   inside that it has no handler for (this script sets none), SIGKILL too;
 * - it runs an execute-only bash, which makes it non-dumpable: no process of
 *   the sandbox can open its /proc/1/mem, fd/ or environ, where the next
 *   command (and token) or its descriptors could be read; ptrace and
 *   process_vm_* are off in seccomp anyway;
 * - ACK_FD and stdin are its own; the launcher closes ACK_FD before the
 *   program runs, and the program's stdin is the job's stdin file.
 * Whatever goes wrong, the worker kills the runner and starts another.
 */
const script = (startCase: string) => `
shopt -s dotglob nullglob
# rm as a builtin where bash's loadable builtins are installed: no process to start, between every two cases.
BASH_LOADABLES_PATH=/usr/lib/bash:/usr/lib64/bash:/usr/local/lib/bash enable -f rm rm 2>/dev/null || rm() { /usr/bin/rm "$@"; }
left() { leftover=(${SANDBOX_WORK_DIR}/* /tmp/* /dev/shm/* /dev/mqueue/*); }
clean() {
  left; ((\${#leftover[@]})) || return 0
  # What is gone is what counts: the loadable rm's exit status does not always say.
  rm -rf -- "\${leftover[@]}" 2>/dev/null
  left; ((\${#leftover[@]})) || return 0
  # A case may have taken its own write permission away from a directory.
  /usr/bin/chmod -R u+rwx -- "\${leftover[@]}" 2>/dev/null
  rm -rf -- "\${leftover[@]}" 2>/dev/null
  left; ((\${#leftover[@]} == 0))
}
# System V IPC objects outlive their processes in the namespace: a line past each table's header is one.
ipc() {
  local table lines
  for table in shm sem msg; do
    mapfile -t lines < /proc/sysvipc/$table
    ((\${#lines[@]} <= 1)) && continue
    /usr/bin/ipcrm --all 2>/dev/null
    mapfile -t lines < /proc/sysvipc/$table
    ((\${#lines[@]} <= 1)) || return 1
  done
}
reset() { clean && ipc && /usr/bin/cp -a ${WORK_BASE_DIR}/. ${SANDBOX_WORK_DIR}/; }
while IFS= read -r line; do
  case $line in
    reset)
      if reset; then printf ${RUNNER_SAYS.ready} >&${ACK_FD}; else printf ${RUNNER_SAYS.resetFailed} >&${ACK_FD}; fi ;;
    "go "*)
      ( ${startCase} )
      status=$?
      # kill(-1) from pid 1 reaches every other process of the namespace; it fails once none is left to reap.
      while kill -9 -1 2>/dev/null; do :; done
      printf %s "\${line#go }"
      printf %s "\${line#go }" >&2
      printf '${RUNNER_SAYS.status}%d;' "$status" >&${ACK_FD} ;;
  esac
done
exit ${LAUNCHER_ABANDONED}
`;

const BASH_RUNNER = script(BASH_START_PROGRAM);
const LAUNCHER_RUNNER = script(`exec "$@" < ${SANDBOX_SPEC_DIR}/${GO_FILE}`);

/** The runner's command line: its shell and script, and for runtimes other than bash the launcher it starts for each case. */
export function caseRunnerCommand(runtime: Runtime, launcher: readonly string[]): string[] {
  if (runtime === 'bash') return [RUNNER_SHELL_PATH, ...BASH_NO_STARTUP_FILES, '-c', BASH_RUNNER, 'sandq-runner'];
  return [RUNNER_SHELL_PATH, ...BASH_NO_STARTUP_FILES, '-c', LAUNCHER_RUNNER, 'sandq-runner', ...launcher];
}
