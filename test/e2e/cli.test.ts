import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExecution } from '../helpers/service.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Started {
  exit: Promise<number | null>;
  output: () => string;
  child: ReturnType<typeof spawn>;
}

/** Runs the CLI the way `npm start` does (tsx over the TypeScript entry point). */
function runCli(args: string[], env: Record<string, string | undefined>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...isolatedSandbox(100), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function waitForOutput(started: Started, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${pattern} in output:\n${started.output()}`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('sandq doctor', () => {
  it('prints the isolation this host provides and exits 0', async () => {
    const started = runCli(['doctor'], {});
    expect(await started.exit).toBe(0);
    const out = started.output();
    expect(out).toMatch(/namespaces\s+user, pid, net, ipc, uts, cgroup, mnt: all unshared/);
    expect(out).toMatch(/identity\s+a host uid per sandbox/);
    expect(out).toMatch(/seccomp\s+allowlist of \d+ system calls \((x64|arm64)\), .*; everything else is refused\n/);
    expect(out).toMatch(/cgroups\s+cgroup v[12] \(memory, pids/);
    expect(out).toContain('Result: the local provider isolates jobs on this host.');
  });

  it('warns about the rlimit fallback when no cgroup hierarchy is writable', async () => {
    const started = runCli(['doctor'], { SANDBOX_CGROUP_ROOT: mkdtempSync(path.join(os.tmpdir(), 'sandq-none-')) });
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(/cgroups\s+none: rlimit fallback/);
    expect(started.output()).toMatch(/Warnings:\n\s+- no writable cgroup hierarchy/);
  });

  it('exits non-zero when jobs cannot be isolated', async () => {
    const started = runCli(['doctor'], { BWRAP_PATH: '/nonexistent/bwrap' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Result: jobs cannot be isolated on this host.');
    expect(started.output()).toContain('apt-get install bubblewrap');
  });
});

describe('sandq start (npm start)', () => {
  it('without REDIS_URL starts a private redis-server, runs a job, and removes it all on SIGTERM', async () => {
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined });
    const [, redisUrl, dataDir] = await waitForOutput(started, /"redisUrl":"(redis:\/\/[^"]+)","dataDir":"([^"]+)"/);
    const [, baseUrl] = await waitForOutput(started, /"url":"(http:\/\/[^"]+)","msg":"api listening"/);
    const redisPort = Number(new URL(redisUrl!).port);

    const ex = await runExecution(baseUrl!, { language: 'python', code: 'print("hello from the sandbox")' });
    expect(ex.result?.stdout).toBe('hello from the sandbox\n');
    expect(started.output()).toContain(`"executionId":"${ex.id}"`);

    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
    expect(await portOpen(redisPort)).toBe(false);
    expect(existsSync(dataDir!)).toBe(false);
  });

  it('says how to install redis-server when it is missing', async () => {
    const emptyPath = mkdtempSync(path.join(os.tmpdir(), 'sandq-path-'));
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, PATH: emptyPath });
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/redis-server was not found.*apt-get install redis-server/s);
  });

  it('says how to install bubblewrap when it is missing', async () => {
    // redis-server stays reachable; only bwrap is absent.
    const binDir = mkdtempSync(path.join(os.tmpdir(), 'sandq-path-'));
    symlinkSync(execPathOf('redis-server'), path.join(binDir, 'redis-server'));
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, PATH: binDir });
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/bwrap was not found.*apt-get install bubblewrap/s);
  });

  it('stops with a message naming a bad variable', async () => {
    const started = runCli(['start'], { PORT: 'not-a-port' });
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('PORT:');
    expect(started.output()).toContain('"not-a-port"');
  });

  it('needs REDIS_URL to run a single role', async () => {
    const started = runCli(['start', 'worker'], { REDIS_URL: undefined });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('REDIS_URL is not set');
  });
});

function execPathOf(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not on PATH`);
}
