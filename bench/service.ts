import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface BenchService {
  child: ChildProcess;
  baseUrl: string;
  /** ms from spawn to the API listening. */
  startedInMs: number;
  stop(): Promise<void>;
}

/** Runs `sandq start <role>` as its own process, as an operator would, against `redisUrl`. */
export async function startService(role: 'all' | 'api', env: Record<string, string>): Promise<BenchService> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', 'start', role], {
    cwd: ROOT,
    // No rate limit (one key could not submit 5,000 a second), and a queue-depth limit far
    // above the bench's load: the depth check's cost is measured, its refusals are not.
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', MAX_QUEUE_DEPTH: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)","msg":"api listening"/.exec(output);
      if (match) {
        output = '';
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`sandq start ${role} exited with ${code}:\n${output}`)));
  });
  // Keep draining logs so the service never blocks on a full pipe.
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    child,
    baseUrl,
    startedInMs: performance.now() - started,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Proportional set size of a process (its share of shared pages), in bytes. */
function pssBytes(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function uidOf(pid: number): number {
  try {
    return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
  } catch {
    return -1;
  }
}

/** Memory of the service process plus every sandbox process (uids in the sandbox range). */
export function serviceMemory(servicePid: number, uidBase: number, uidCount: number): { serviceBytes: number; sandboxBytes: number; sandboxProcesses: number } {
  let sandboxBytes = 0;
  let sandboxProcesses = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const uid = uidOf(pid);
    if (uid >= uidBase && uid < uidBase + uidCount) {
      sandboxBytes += pssBytes(pid);
      sandboxProcesses++;
    }
  }
  return { serviceBytes: pssBytes(servicePid), sandboxBytes, sandboxProcesses };
}
