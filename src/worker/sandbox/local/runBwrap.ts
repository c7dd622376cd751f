import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { OutputCollector } from '../OutputCollector.js';
import type { OutputStream, RunOutcome, Termination } from '../SandboxProvider.js';

/** fds bwrap gets besides stdio: its options, its info report, the start gate, the seccomp program. */
const FD = { options: 3, info: 4, block: 5, seccomp: 6 } as const;
const PIPE_DRAIN_MS = 2000;

export interface RunBwrapInput {
  bwrapPath: string;
  /** bubblewrap options (mounts, namespaces, env); sent over a pipe, never on argv. */
  options: string[];
  /** The program and its arguments, as seen inside the sandbox. */
  command: string[];
  /** Compiled seccomp program (struct sock_filter[]). */
  seccomp?: Buffer;
  /** A wrapper that execs bwrap, e.g. prlimit with its flags (`[path, ...flags, '--']`). */
  launcher?: string[];
  stdin: string;
  uid?: number;
  gid?: number;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /**
   * Called with the host pid of the sandbox's first process once namespaces
   * are set up and before the program starts (bwrap waits on --block-fd), so
   * it can be put in the job's cgroup: everything it starts inherits that.
   */
  beforeStart?: (sandboxPid: number) => Promise<void>;
}

/** Exit statuses above 128 are how bwrap (like a shell) reports a child killed by a signal. */
function signalFromExitCode(code: number): string | null {
  if (code <= 128 || code > 128 + 64) return null;
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === code - 128);
  return entry ? entry[0] : null;
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
 * Runs one program in bubblewrap and watches it: wall-clock timeout, output
 * cap and abort all end in SIGKILL of bwrap, which (with --die-with-parent
 * and a pid namespace) takes every process the program started down with it.
 */
export async function runBwrap(input: RunBwrapInput): Promise<RunOutcome> {
  const options = [...input.options, '--info-fd', String(FD.info), '--block-fd', String(FD.block)];
  if (input.seccomp) options.push('--seccomp', String(FD.seccomp));
  const [executable, ...launcherArgs] = input.launcher ?? [input.bwrapPath];
  const argv = [...(input.launcher ? [...launcherArgs, input.bwrapPath] : []), '--args', String(FD.options), ...input.command];

  const child = spawn(executable!, argv, {
    cwd: '/',
    env: {},
    uid: input.uid,
    gid: input.gid,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
  });
  const pipe = (fd: number) => child.stdio[fd] as Writable & Readable;
  for (const fd of [0, FD.options, FD.block, FD.seccomp]) pipe(fd).on('error', () => {});

  let termination: Termination = 'exited';
  const kill = (reason: Termination) => {
    if (termination === 'exited') termination = reason;
    child.kill('SIGKILL');
  };

  const collectors = { stdout: new OutputCollector(input.maxOutputBytes), stderr: new OutputCollector(input.maxOutputBytes) };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      const kept = collectors[stream].push(chunk);
      if (kept.length > 0) input.onOutput?.(stream, kept);
      if (collectors[stream].truncated) kill('output_exceeded');
    });
  }

  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
    // Output pipes close when the last process holding them dies; should anything
    // outlive bwrap and hold them, stop reading rather than wait for it.
    child.once('exit', (c, s) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve([c, s]);
      }, PIPE_DRAIN_MS).unref();
    });
  });

  pipe(FD.options).end(`${options.join('\0')}\0`);
  pipe(FD.seccomp).end(input.seccomp ?? Buffer.alloc(0));

  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => kill('cancelled');
  let started = performance.now();
  try {
    const childPid = await Promise.race([readChildPid(pipe(FD.info)), closed.then(() => undefined)]);
    if (childPid !== undefined) {
      try {
        await input.beforeStart?.(childPid);
      } catch (error) {
        child.kill('SIGKILL');
        await closed;
        throw error;
      }
      // The program starts now; its time and its input begin here.
      started = performance.now();
      pipe(FD.block).end('x');
      child.stdin.end(input.stdin);
      timer = setTimeout(() => kill('timed_out'), input.timeoutMs);
      if (input.signal?.aborted) onAbort();
      input.signal?.addEventListener('abort', onAbort, { once: true });
    }

    const [code, signal] = await closed;
    if (childPid === undefined) {
      throw new Error(`bubblewrap failed to start the sandbox (exit ${code ?? signal}): ${collectors.stderr.text().trim()}`);
    }
    const exitCode = termination === 'exited' ? code : null;
    return {
      termination,
      exitCode,
      signal: signal ?? (exitCode === null ? 'SIGKILL' : signalFromExitCode(exitCode)),
      stdout: collectors.stdout.text(),
      stderr: collectors.stderr.text(),
      stdoutTruncated: collectors.stdout.truncated,
      stderrTruncated: collectors.stderr.truncated,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
}
