import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The default user's home in an E2B sandbox: relative paths resolve against it. */
const FAKE_HOME = '/home/user';

/** What envd gives every command before the request's own `envs`. */
const ENVD_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', USER: 'user', LANG: 'C.UTF-8' };

export interface FakeSandboxSpec {
  templateID: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  timeoutMs: number;
  startedAt?: number;
}

/**
 * One fake E2B sandbox: a temporary directory standing for the VM's file
 * system (a sandbox path /x is <root>/x) and real processes spawned on this
 * host, each in a process group of its own so that killing the sandbox kills
 * everything it started. A test double of a remote VM, for tests only: it
 * isolates nothing.
 */
export class FakeSandbox {
  readonly id = `fake${randomBytes(8).toString('hex')}`;
  readonly accessToken = randomBytes(16).toString('hex');
  readonly processes = new Map<number, ChildProcess>();
  readonly startedAt: number;
  endAt = 0;
  alive = true;
  private expiry: NodeJS.Timeout | undefined;

  private constructor(
    readonly spec: FakeSandboxSpec,
    readonly root: string,
    private readonly onExpire: (sandbox: FakeSandbox) => void,
  ) {
    this.startedAt = spec.startedAt ?? Date.now();
  }

  static async create(spec: FakeSandboxSpec, onExpire: (sandbox: FakeSandbox) => void): Promise<FakeSandbox> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'fake-e2b-'));
    await mkdir(path.join(root, FAKE_HOME), { recursive: true });
    const sandbox = new FakeSandbox(spec, root, onExpire);
    sandbox.setTimeout(spec.timeoutMs);
    return sandbox;
  }

  /** Like E2B: the sandbox is killed when its timeout runs out, unless extended. */
  setTimeout(timeoutMs: number): void {
    clearTimeout(this.expiry);
    this.endAt = Date.now() + timeoutMs;
    this.expiry = setTimeout(() => this.onExpire(this), timeoutMs);
    this.expiry.unref();
  }

  /** Where a sandbox path (absolute, or relative to the home) lives on this host. */
  hostPath(sandboxPath: string): string {
    return path.join(this.root, path.posix.resolve(FAKE_HOME, sandboxPath));
  }

  spawn(cmd: string, args: string[], envs: Record<string, string>, cwd: string | undefined, stdin: boolean): ChildProcess {
    const child = spawn(cmd, args, {
      cwd: this.hostPath(cwd ?? FAKE_HOME),
      env: { ...ENVD_ENV, HOME: this.hostPath(FAKE_HOME), E2B_SANDBOX: 'true', E2B_SANDBOX_ID: this.id, ...this.spec.envVars, ...envs },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.processes.set(pid, child);
      child.once('close', () => this.processes.delete(pid));
    }
    return child;
  }

  /** SIGKILL to the process group the command leads. */
  signal(pid: number): boolean {
    if (!this.processes.has(pid)) return false;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    return true;
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    clearTimeout(this.expiry);
    for (const pid of this.processes.keys()) this.signal(pid);
    await rm(this.root, { recursive: true, force: true });
  }
}
