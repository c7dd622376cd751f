import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { sandboxEnvironment } from '../common/sandboxEnvironment.js';

/** Where the job's files live inside the sandbox; also its cwd and HOME. */
export const SANDBOX_WORK_DIR = '/work';

/**
 * The read-only system view every sandbox gets: /usr, the merged-/usr links
 * (or directories on older layouts), the few /etc files the dynamic linker
 * and interpreters read, and the configuration the languages' toolchains name
 * (`extraPaths`, when present). Nothing else of the host (no /home, /root, /var, /etc/shadow).
 */
export function systemMounts(extraPaths: readonly string[] = []): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    if (!existsSync(dir)) continue;
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  const files = new Set(['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/localtime', ...extraPaths]);
  for (const file of files) {
    if (existsSync(file)) args.push('--ro-bind', file, file);
  }
  return args;
}

/**
 * The launcher's private line back to the worker: it writes one byte there
 * once it has taken its job, and closes it before the program runs. The
 * worker thus knows, from something the program cannot forge, whether the
 * program ever started.
 */
export const ACK_FD = 7;

/**
 * Runs first inside the sandbox: closes every descriptor but stdio (and the launcher's ACK_FD) that the
 * worker's process may have inherited without close-on-exec (a supervisor's
 * socket, a test runner's pipe), then becomes the program.
 */
const CLOSE_INHERITED_FDS = `for fd in /proc/self/fd/*; do fd=\${fd##*/}; case $fd in 0|1|2|${ACK_FD}) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac; done`;

/** Where a test case's sandbox finds the job's work dir, read-only, to copy into its own /work. */
export const WORK_BASE_DIR = '/work-base';
/** Where the launcher finds its spec and the job's stdin: the worker's spec dir for the sandbox, bound read-only (never in /work). */
export const SANDBOX_SPEC_DIR = '/run/sandq';
/** Where a case runner's sandbox has its shell: the worker's execute-only copy of bash (see installTool). */
export const RUNNER_SHELL_PATH = '/run/case-runner';

/**
 * Every bash sandq starts runs with these: with a socket as its stdin (what
 * node gives a child), bash takes itself for an rsh/ssh session and reads
 * ~/.bashrc even with -c: the worker's own (for the shell that joins the
 * cgroup), or /work/.bashrc, a job's file, inside the sandbox.
 */
export const BASH_NO_STARTUP_FILES = ['--norc', '--noprofile'] as const;

/** The command line bwrap starts: the descriptor-closing shell, then the program. */
export function sandboxCommand(bash: string, command: string[]): string[] {
  return [bash, ...BASH_NO_STARTUP_FILES, '-c', `${CLOSE_INHERITED_FDS}; exec "$@"`, 'sandq', ...command];
}

export interface SandboxArgumentsInput {
  systemMounts: string[];
  /** Host files bound read-only into the sandbox, keyed by their path inside (e.g. the TypeScript transpiler). */
  tools?: ReadonlyMap<string, string>;
  /** Host directory bound read-write at SANDBOX_WORK_DIR; or, for a case runner, read-only at WORK_BASE_DIR under a tmpfs /work. */
  hostWorkDir: string;
  /** Host directory bound read-only at SANDBOX_SPEC_DIR: the launcher's spec and the job's stdin. */
  specDir?: string;
  /**
   * The sandbox of a submission's test cases (see caseRunnerScript.ts): its
   * runner is pid 1 and runs `shell` (bound at RUNNER_SHELL_PATH); /work is a
   * tmpfs of `workSizeBytes` that the runner fills from the job's work dir;
   * /dev/mqueue is mounted, so that it can empty it between cases.
   */
  caseRunner?: { shell: string; workSizeBytes: number };
  /** Size cap of the sandbox's /tmp (a tmpfs, charged to the job's memory cgroup). */
  tmpSizeBytes: number;
}

/** The environment a program starts from; the request's `env` is laid over it. */
export const BASE_ENV = sandboxEnvironment({ workDir: SANDBOX_WORK_DIR, searchPath: '/usr/local/bin:/usr/bin:/bin' });

/**
 * bubblewrap options for one program: every namespace unshared (user, pid,
 * net, ipc, uts, cgroup), no nested user namespaces, a fresh session, killed
 * with its parent, an empty environment but for BASE_ENV (the job's own is
 * set by the launcher when the job arrives).
 * These travel to bwrap over a pipe (`--args`), not argv.
 */
export function sandboxArguments(input: SandboxArgumentsInput): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--hostname', 'sandbox',
    ...input.systemMounts,
    ...[...(input.tools ?? [])].flatMap(([inside, host]) => ['--ro-bind', host, inside]),
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(input.tmpSizeBytes), '--tmpfs', '/dev/shm',
    '--size', String(input.tmpSizeBytes), '--tmpfs', '/tmp',
    ...(input.caseRunner
      ? [
          ...['--ro-bind', input.hostWorkDir, WORK_BASE_DIR, '--size', String(input.caseRunner.workSizeBytes), '--tmpfs', SANDBOX_WORK_DIR],
          ...['--as-pid-1', '--mqueue', '/dev/mqueue', '--ro-bind', input.caseRunner.shell, RUNNER_SHELL_PATH],
        ]
      : ['--bind', input.hostWorkDir, SANDBOX_WORK_DIR]),
    ...(input.specDir ? ['--ro-bind', input.specDir, SANDBOX_SPEC_DIR] : []),
    // The root itself is bwrap's scratch tmpfs: make it read-only like the system dirs.
    '--remount-ro', '/',
    '--chdir', SANDBOX_WORK_DIR,
    '--cap-drop', 'ALL',
    '--clearenv',
  ];
  for (const [name, value] of Object.entries(BASE_ENV)) {
    args.push('--setenv', name, value);
  }
  return args;
}
