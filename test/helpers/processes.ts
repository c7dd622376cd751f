import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isolatedSandbox } from './sandboxIsolation.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A `sandq start <role>` child process, as an operator runs it, with its output kept. */
export interface SandqProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  /** The API's base URL (role api). */
  baseUrl?: string;
  /** The worker's name as BullMQ records it on jobs (`processedBy`), from its start line. */
  workerId?: string;
}

const READY: Record<'api' | 'worker', RegExp> = {
  api: /"url":"(http:\/\/[^"]+)","msg":"api listening"/,
  worker: /"workerId":"([^"]+)".*"msg":"worker started"/,
};

/** Starts `node --import tsx src/cli/sandq.ts start <role>` and waits until it is ready. */
export async function startSandqProcess(role: 'api' | 'worker', env: Record<string, string>, readyWithinMs = 30_000): Promise<SandqProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', 'start', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', PORT: '0', ...isolatedSandbox(100), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    const match = READY[role].exec(output);
    if (match) {
      return { child, pid: child.pid!, output: () => output, exited, ...(role === 'api' ? { baseUrl: match[1] } : { workerId: match[1] }) };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sandq start ${role} did not become ready:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends `signal` and waits for the exit; returns the exit code and how long it took. */
export async function stopSandqProcess(proc: SandqProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
  const code = await proc.exited;
  return { code, ms: Date.now() - started };
}

/**
 * Live host processes running as a uid in [base, base + count): the sandboxes
 * of the worker given that range. Zombies (already dead, waiting for their
 * parent, or an orphan's for pid 1, to reap them) are not counted.
 */
export function processesInUidRange(base: number, count: number): { pid: number; ppid: number; uid: number; state: string; comm: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,uid=,stat=,comm='])
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, uid, state, comm]) => ({ pid: Number(pid), ppid: Number(ppid), uid: Number(uid), state: state ?? '', comm: comm ?? '' }))
    .filter(({ uid, state }) => uid >= base && uid < base + count && !state.startsWith('Z'));
}

/** Whether the process `pid` has ended: no longer there, or a zombie waiting to be reaped. */
export function processGone(pid: number): boolean {
  try {
    // The state follows the command name in parentheses, which may itself hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Live (not zombie) processes of the process group `pgid`. */
export function processesInGroup(pgid: number): { pid: number; comm: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,comm='])
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, state]) => Number(group) === pgid && !(state ?? '').startsWith('Z'))
    .map(([pid, , , comm]) => ({ pid: Number(pid), comm: comm ?? '' }));
}
