import { LAUNCHER_ABANDONED } from '../common/exitStatus.js';
import type { Runtime } from '../SandboxProvider.js';
import { ACK_FD, SANDBOX_SPEC_DIR, SANDBOX_WORK_DIR, WORK_BASE_DIR } from './bwrapArguments.js';
import { GO_FILE, RUNNER_SAYS } from './caseRunnerScript.js';
import { PYTHON_START_PROGRAM, STDIN_FILE } from './launchers.js';

/**
 * The test cases' runner in Python, where the worker has python3: the
 * protocol of caseRunnerScript.ts, and the same defences, with two things a
 * shell cannot do without starting a process:
 *
 * - the reset is done in-process (the removal, the copy of the job's work
 *   dir, the System V objects through libc), so no program starts between
 *   two cases;
 * - each case's process is forked from the runner once the state is fresh,
 *   before the case's go (and token) has arrived, and waits on a pipe of
 *   its own: a Python case then runs in that warm interpreter as the Python
 *   launcher runs it (PYTHON_START_PROGRAM), with no interpreter start of its
 *   own; any other case execs its program (bash-run ones as
 *   BASH_START_PROGRAM does: `env -i`, the job's environment) or its
 *   runtime's launcher.
 *
 * It makes itself non-dumpable (prctl), which closes its /proc/1/mem, fd/
 * and environ to the cases, and installs no signal handler (pid 1 then
 * ignores every signal sent from inside); a case's child makes itself
 * dumpable again and puts back the signal dispositions a fresh process has.
 */
const SCRIPT = `
import os, sys, signal, ctypes, shutil, stat
MODE = sys.argv[1]
LAUNCHER = sys.argv[2:]
# Python's own SIGINT handler would let a case's kill -INT 1 raise in the runner.
signal.signal(signal.SIGINT, signal.SIG_DFL)
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE = 4
if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
    os._exit(${LAUNCHER_ABANDONED})
ACK = ${ACK_FD}
TOPS = ("${SANDBOX_WORK_DIR}", "/tmp", "/dev/shm", "/dev/mqueue")

def say(text):
    os.write(ACK, text.encode())

def remove(path):
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        # A case may have taken its own permissions away from a directory.
        if st.st_mode & 0o700 != 0o700:
            os.chmod(path, 0o700)
        for entry in os.scandir(path):
            remove(entry.path)
        os.rmdir(path)
    else:
        os.unlink(path)

IPC_RMID = 0
def remove_ipc():
    for table, rm in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)), ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)), ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        with open("/proc/sysvipc/" + table) as f:
            rows = f.read().splitlines()[1:]
        for row in rows:
            if rm(int(row.split()[1])) != 0:
                raise OSError(ctypes.get_errno(), "IPC_RMID")

def reset():
    try:
        for top in TOPS:
            for entry in os.scandir(top):
                remove(entry.path)
        remove_ipc()
        shutil.copytree("${WORK_BASE_DIR}", "${SANDBOX_WORK_DIR}", symlinks=True, dirs_exist_ok=True)
        return True
    except (OSError, RecursionError, shutil.Error):
        return False

def finish(code):
    """The end of a Python case, as the interpreter's own: threads joined, atexit run, streams flushed."""
    threading = sys.modules.get("threading")
    try:
        if threading: threading._shutdown()
    except BaseException:
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            code = 120
    os._exit(code)

def exit_code(error):
    if error.code is None: return 0
    if isinstance(error.code, int): return error.code & 0xFF
    try:
        print(error.code, file=sys.stderr)
    except BaseException:
        pass
    return 1

def child(go):
    # Runs in the forked child: waits for its go, then becomes the case.
    try:
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        if os.read(go, 1) != b"g":
            os._exit(${LAUNCHER_ABANDONED})
        os.close(go)
        if MODE == "python":
            signal.signal(signal.SIGINT, signal.default_int_handler)
        else:
            for number in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(number, signal.SIG_DFL)
        if MODE == "launcher":
            fd = os.open("${SANDBOX_SPEC_DIR}/${GO_FILE}", os.O_RDONLY); os.dup2(fd, 0); os.close(fd)
            os.execv(LAUNCHER[0], LAUNCHER)
        if MODE == "exec":
            with open("${SANDBOX_SPEC_DIR}/spec.nul", "rb") as f:
                fields = f.read().split(b"\\0")[:-1]
            argc = int(fields[0])
            fd = os.open("${SANDBOX_SPEC_DIR}/${STDIN_FILE}", os.O_RDONLY); os.dup2(fd, 0); os.close(fd)
            os.write(ACK, b"${RUNNER_SAYS.started}"); os.close(ACK)
            os.execve("/usr/bin/env", [b"/usr/bin/env", b"-i", *fields[1 + argc:], *fields[1:1 + argc]], {})
    except BaseException:
        os._exit(${LAUNCHER_ABANDONED})
    try:
        exec(compile(START, "<string>", "exec"), {"__builtins__": __builtins__})
    except SystemExit as error:
        finish(exit_code(error))
    except BaseException:
        finish(1)
    finish(0)

START = ${JSON.stringify(PYTHON_START_PROGRAM)}

def prefork():
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        child(go_read)
    os.close(go_read)
    return pid, go_write

def kill_all():
    # kill(-1) from pid 1 reaches every other process of the namespace; it fails once none is left to reap.
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            pass

def status_of(wait_status):
    if os.WIFSIGNALED(wait_status): return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)

def write_all(fd, data):
    # A case may have made the shared stdout non-blocking.
    os.set_blocking(fd, True)
    while data:
        data = data[os.write(fd, data):]

waiting = None
pending = b""
while True:
    while b"\\n" not in pending:
        chunk = os.read(0, 4096)
        if not chunk:
            os._exit(${LAUNCHER_ABANDONED})
        pending += chunk
    line, pending = pending.split(b"\\n", 1)
    if line == b"reset":
        if waiting:
            os.close(waiting[1])
            waiting = None
            kill_all()
        if reset():
            waiting = prefork()
            say("${RUNNER_SAYS.ready}")
        else:
            say("${RUNNER_SAYS.resetFailed}")
    elif line.startswith(b"go ") and waiting:
        pid, go = waiting
        waiting = None
        os.write(go, b"g"); os.close(go)
        _, wait_status = os.waitpid(pid, 0)
        kill_all()
        token = line[3:]
        write_all(1, token)
        write_all(2, token)
        say("${RUNNER_SAYS.status}%d;" % status_of(wait_status))
`;

/** Which of the Python runner's ways a runtime's cases start: in the runner's own interpreter, by exec, or by the runtime's launcher. */
function modeOf(runtime: Runtime): 'python' | 'exec' | 'launcher' {
  return runtime === 'python' ? 'python' : runtime === 'bash' ? 'exec' : 'launcher';
}

/**
 * The Python runner's command line: the worker's python3 with the Python
 * runtime's flags (a Python case runs in it as in a warm Python sandbox),
 * the mode, and for a runtime with a launcher of its own that launcher.
 */
export function pythonCaseRunnerCommand(runtime: Runtime, python: { executable: string; flags: readonly string[] }, launcher: readonly string[]): string[] {
  const mode = modeOf(runtime);
  return [python.executable, ...python.flags, '-c', SCRIPT, mode, ...(mode === 'launcher' ? launcher : [])];
}
