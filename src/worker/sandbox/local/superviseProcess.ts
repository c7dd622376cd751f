import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Writable } from 'node:stream';
import { OutputCollector } from '../OutputCollector.js';
import type { OutputStream, RunOutcome, Termination } from '../SandboxProvider.js';

export interface SuperviseInput {
  executable: string;
  argv: string[];
  /** Written to fd 3 and closed; bwrap reads its options from there (`--args 3`). */
  fd3: string;
  stdin: string;
  uid?: number;
  gid?: number;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

const PIPE_DRAIN_MS = 2000;

/** Exit statuses above 128 are how bwrap (like a shell) reports a child killed by a signal. */
function signalFromExitCode(code: number): string | null {
  if (code <= 128 || code > 128 + 64) return null;
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === code - 128);
  return entry ? entry[0] : null;
}

/**
 * Runs bwrap and watches it: wall-clock timeout, output cap and abort all end
 * in SIGKILL of bwrap, which (with --die-with-parent and a pid namespace)
 * takes every process the program started down with it.
 */
export async function superviseProcess(input: SuperviseInput): Promise<RunOutcome> {
  const started = performance.now();
  const child = spawn(input.executable, input.argv, {
    cwd: '/',
    env: {},
    uid: input.uid,
    gid: input.gid,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });

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

  // The program may exit without reading its input, or bwrap may fail before it starts.
  const optionsPipe = child.stdio[3] as Writable;
  child.stdin.on('error', () => {});
  optionsPipe.on('error', () => {});
  optionsPipe.end(input.fd3);
  child.stdin.end(input.stdin);

  const timer = setTimeout(() => kill('timed_out'), input.timeoutMs);
  const onAbort = () => kill('cancelled');
  if (input.signal?.aborted) onAbort();
  input.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
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
