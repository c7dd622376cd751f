import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { OutputCollector } from '../OutputCollector.js';
import { ACK_FD, BASH_NO_STARTUP_FILES } from './bwrapArguments.js';
import type { OutputStream, RunOptions, RunOutcome } from '../SandboxProvider.js';
import { signalOfExitCode } from '../common/exitStatus.js';
import type { ProgramExit, StopReason } from '../common/runOutcome.js';
import { RunWatch } from '../common/RunWatch.js';

/** fds bwrap gets besides stdio: its options, its info report, the seccomp program, the launcher's acknowledgement. */
const FD = { options: 3, info: 4, seccomp: 6, ack: ACK_FD } as const;
const PIPE_DRAIN_MS = 2000;
/** How long bwrap gets to exit by itself once its sandbox is killed. */
const BWRAP_EXIT_GRACE_MS = 500;
/** What a launcher may print before its job starts (only ever an error). */
const PRELUDE_BYTES = 16 * 1024;

export interface BwrapStartInput {
  bwrapPath: string;
  /** bubblewrap options (mounts, namespaces, env); sent over a pipe, never on argv. */
  options: string[];
  /** The command inside the sandbox. */
  command: string[];
  /** Compiled seccomp program (struct sock_filter[]). */
  seccomp?: Buffer;
  /** A wrapper that execs bwrap, e.g. prlimit with its flags (`[path, ...flags, '--']`). */
  launcher?: string[];
  /** The host identity the sandbox runs as; unset = the worker's own. */
  identity?: { uid: number; gid: number };
  /**
   * Joins the job's cgroup before bwrap starts: `shell` writes its own pid
   * to each of `procsFiles`, then execs the launcher. bwrap and everything
   * it starts are then born inside the cgroup, and the cgroup namespace
   * bwrap makes is rooted there, so the job sees `/` as its cgroup and
   * nothing of the host's hierarchy. The identity is taken after the join
   * (setpriv), since only the worker may move processes between cgroups.
   */
  cgroup?: { shell: string; setpriv: string; procsFiles: readonly string[] };
}

/** Writes the shell's pid into each file up to `--`, then execs the rest: a process that joins its cgroups before it is anything else. */
/**
 * Ends the chain unless its parent is still the worker (`$1`): a parent-death
 * signal asked for after the parent died never comes, so each arming of one
 * is followed by this look.
 */
const STILL_THE_WORKERS = '[ "$PPID" = "$1" ] || exit 125; shift;';
const JOIN_CGROUP = `${STILL_THE_WORKERS} while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"`;

export interface BwrapRunInput {
  /** Written to the program's stdin, then closed. */
  stdin: string | Buffer;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  outputEncoding?: RunOptions['outputEncoding'];
  /**
   * Called once the program is over, before anything else runs in its
   * sandbox, and before the outcome is made: where a step's figures are read
   * (a case runner resets the sandbox right after it).
   */
  onEnd?: () => void;
}

/** bwrap's own end as the program's: like a shell, it reports a child killed by a signal as 128 + its number. */
export function programExit(code: number | null, signal: NodeJS.Signals | null): ProgramExit {
  return { exitCode: code, signal: signal ?? (code === null ? 'SIGKILL' : signalOfExitCode(code)) };
}

/** Resolves with the sandbox's pid from bwrap's --info-fd JSON ({"child-pid": N}). */
function readChildPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) {
        info.off('data', onData);
        info.resume();
        resolve(Number(match[1]));
      }
    };
    info.on('data', onData);
    info.once('end', () => reject(new Error('bubblewrap ended before it started the sandbox')));
    info.once('error', reject);
  });
}

/**
 * One bubblewrap process: started (namespaces, mounts, seccomp, cgroup in
 * place, the command running and waiting for its input), then run once.
 * Every way it ends (timeout, output cap, abort, destroy) is a SIGKILL of
 * bwrap, which with --die-with-parent and a pid namespace takes every
 * process inside down with it.
 */
export class BwrapProcess {
  /** The run, once the program was handed its input; output before that is the prelude. */
  private watch: RunWatch | undefined;
  /** Where output goes instead, while a case runner's case runs (see CaseRunner). */
  private sink: ((stream: OutputStream, chunk: Buffer) => void) | undefined;
  private readonly prelude = { stdout: new OutputCollector(PRELUDE_BYTES), stderr: new OutputCollector(PRELUDE_BYTES) };
  /** Whether the launcher said, on ACK_FD, that it took its job. */
  private acknowledged = false;
  private exited = false;
  /** Host pid of the sandbox's init (pid 1 of its namespace), once known. */
  private sandboxPid: number | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly closed: Promise<[number | null, NodeJS.Signals | null]>,
    /** ACK_FD's pipe. */
    private readonly control: Readable,
  ) {
    child.once('exit', () => (this.exited = true));
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.on('data', (chunk: Buffer) => {
        if (this.sink) this.sink(stream, chunk);
        else if (this.watch) this.watch.take(stream, chunk);
        else this.prelude[stream].push(chunk);
      });
    }
  }

  /** Starts bwrap and waits until the command runs inside. */
  static async start(input: BwrapStartInput): Promise<BwrapProcess> {
    const options = [...input.options, '--info-fd', String(FD.info)];
    if (input.seccomp) options.push('--seccomp', String(FD.seccomp));
    const { identity, cgroup } = input;
    // With a cgroup to join the worker's own identity starts the chain, and setpriv takes the sandbox's just before bwrap.
    // Each setpriv asks the kernel to kill the chain should the worker die (SIGKILL included), for the sandbox
    // is out of the worker's process group; changing uid clears that, so the second asks again. After each
    // asking a shell looks that its parent is still the worker (STILL_THE_WORKERS): one that died before
    // the signal was asked for would never send it.
    const untilWorkerDies = ['--pdeathsig', 'KILL'];
    const lookAgain = cgroup ? [cgroup.shell, ...BASH_NO_STARTUP_FILES, '-c', `${STILL_THE_WORKERS} exec "$@"`, 'sandq-check', String(process.pid)] : [];
    const dropIdentity = cgroup && identity ? [cgroup.setpriv, `--reuid=${identity.uid}`, `--regid=${identity.gid}`, '--clear-groups', ...untilWorkerDies, '--', ...lookAgain] : [];
    const chain = [...(input.launcher ?? []), ...dropIdentity, input.bwrapPath, '--args', String(FD.options), ...input.command];
    const [executable, ...argv] = cgroup
      ? [cgroup.setpriv, ...untilWorkerDies, '--', cgroup.shell, ...BASH_NO_STARTUP_FILES, '-c', JOIN_CGROUP, 'sandq-join', String(process.pid), ...cgroup.procsFiles, '--', ...chain]
      : chain;

    const child = spawn(executable!, argv, {
      cwd: '/',
      env: {},
      uid: cgroup ? undefined : identity?.uid,
      gid: cgroup ? undefined : identity?.gid,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'ignore', 'pipe', 'pipe'],
      // Out of the worker's process group: a terminal's Ctrl-C must not kill running jobs
      // before their shutdown grace. --die-with-parent still ends it with the worker.
      detached: true,
    });
    const pipe = (fd: number) => child.stdio[fd] as Writable & Readable;
    for (const fd of [0, FD.options, FD.seccomp]) pipe(fd).on('error', () => {});

    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
      // Output pipes close when the last process holding them dies; should anything
      // outlive bwrap and hold them, stop reading rather than wait for it.
      child.once('exit', (c, s) => {
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          resolve([c, s]);
        }, PIPE_DRAIN_MS).unref();
      });
    });
    const bwrap = new BwrapProcess(child, closed, pipe(FD.ack));
    bwrap.control.on('data', () => (bwrap.acknowledged = true));

    pipe(FD.options).end(`${options.join('\0')}\0`);
    pipe(FD.seccomp).end(input.seccomp ?? Buffer.alloc(0));
    const childPid = await Promise.race([readChildPid(pipe(FD.info)).catch(() => undefined), closed.then(() => undefined)]);
    if (childPid === undefined) {
      const [code, signal] = await closed;
      throw new Error(`bubblewrap failed to start the sandbox (exit ${code ?? signal}): ${bwrap.prelude.stderr.text().trim()}`);
    }
    bwrap.sandboxPid = childPid;
    return bwrap;
  }

  /** Whether the program was handed its job (the launcher acknowledged it before running it). */
  get started(): boolean {
    return this.acknowledged;
  }

  /** Whether bwrap (and so the sandbox) is still there. */
  get alive(): boolean {
    return !this.exited;
  }

  /** Registers a callback for the sandbox ending by itself (e.g. while it waits in the pool). */
  onExit(callback: () => void): void {
    if (this.exited) callback();
    else this.child.once('exit', callback);
  }

  /** Feeds the program its input and watches it to the end: timeout, output cap, abort. */
  async run(input: BwrapRunInput): Promise<RunOutcome> {
    if (this.watch) throw new Error('a sandbox process runs once');
    const watch = new RunWatch(input, () => this.killSandbox());
    this.watch = watch;
    watch.start();
    this.child.stdin!.end(input.stdin);
    try {
      const [code, signal] = await this.closed;
      input.onEnd?.();
      return watch.outcome(programExit(code, signal));
    } finally {
      watch.dispose();
    }
  }

  /** Sends its output to `sink` (undefined: back to the prelude), for a runner that runs many programs. */
  route(sink: ((stream: OutputStream, chunk: Buffer) => void) | undefined): void {
    this.sink = sink;
  }

  /** Calls `listener` with what the sandbox writes on ACK_FD: a launcher's acknowledgement, a runner's reports. */
  onControl(listener: (text: string) => void): void {
    this.control.on('data', (chunk: Buffer) => listener(chunk.toString('latin1')));
  }

  /** Writes to the sandbox's stdin, leaving it open: a runner's commands. */
  send(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Resolves with bwrap's exit status once it is gone (and its pipes drained). */
  get ended(): Promise<[number | null, NodeJS.Signals | null]> {
    return this.closed;
  }

  /** Kills the sandbox, whatever runs in it (a runner's run watches its own stops). */
  killNow(): void {
    this.killSandbox();
  }

  /** Stops a running program for its CPU time: the run ends `timed_out`, by `cpuTimeMs`. */
  stopForCpuTime(): void {
    if (this.watch && !this.watch.stoppedBy) this.watch.stop('timed_out', 'cpuTimeMs');
  }

  /** What the sandbox printed before its run began, stream by stream: a command that needs no go (a probe) may answer that early. */
  preludeOutput(): { stdout: string; stderr: string } {
    return { stdout: this.prelude.stdout.text(), stderr: this.prelude.stderr.text() };
  }

  /** What the sandbox printed before its job started (diagnostics for a sandbox that died idle). */
  preludeText(): string {
    const { stdout, stderr } = this.preludeOutput();
    return `${stdout}${stderr}`.trim();
  }

  /** Stops the program from outside its run (the sandbox is destroyed): a run still going ends `reason`. */
  private kill(reason: StopReason): void {
    // The first stop of a run is its outcome's reason (and kills); any later one only kills again.
    if (this.watch && !this.watch.stoppedBy) this.watch.stop(reason);
    else this.killSandbox();
  }

  /**
   * Kills the sandbox's init: the kernel then kills everything in its pid
   * namespace, and bwrap, its parent, reaps it and exits. Killing bwrap
   * first would orphan the init to the host's pid 1, a zombie until that
   * reaps it. bwrap is killed too should it linger.
   */
  private killSandbox(): void {
    if (this.exited) return;
    if (this.sandboxPid === undefined) {
      this.child.kill('SIGKILL');
      return;
    }
    try {
      process.kill(this.sandboxPid, 'SIGKILL');
    } catch {
      // already gone
    }
    setTimeout(() => this.child.kill('SIGKILL'), BWRAP_EXIT_GRACE_MS).unref();
  }

  /** Kills (if still running) and waits until bwrap is gone. */
  async stop(): Promise<void> {
    if (!this.exited) this.kill('cancelled');
    await this.closed;
  }
}
