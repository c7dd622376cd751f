import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, locateProgram } from '../shared/findExecutable.js';
import { freePort } from '../shared/freePort.js';

export interface RedisServerOptions {
  /** Keep an append-only file so a restart loses nothing (as in production). */
  appendOnly?: boolean;
  /**
   * REDIS_SERVER_PATH: a path, or a name looked up on PATH.
   * @defaultValue `redis-server` on PATH
   */
  executable?: string;
}

export const REDIS_INSTALL_HINT =
  'Install it with `sudo apt-get install redis-server` (Debian/Ubuntu), `sudo dnf install redis` (Fedora) or `brew install redis` (macOS), or set REDIS_URL to a Redis you already run.';

/** How long a graceful stop waits before it kills the server. */
const STOP_MS = 5000;

/**
 * A private redis-server on a free loopback port with its data in a temporary
 * directory. Used by `npm start` without REDIS_URL, by the tests and the bench.
 * It can be stopped and started again on the same port and data directory.
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;

  private constructor(
    readonly executable: string,
    readonly port: number,
    readonly dir: string,
    private readonly appendOnly: boolean,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServerProcess> {
    const executable = locateProgram({
      variable: 'REDIS_SERVER_PATH',
      value: options.executable,
      program: 'redis-server',
      installHint: REDIS_INSTALL_HINT,
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sandq-redis-'));
    const server = new RedisServerProcess(executable, await freePort(), dir, options.appendOnly ?? false);
    try {
      await server.resume();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The redis-server's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts (again) on the same port and data directory. */
  async resume(): Promise<void> {
    if (this.child) return;
    // Its own process group: a terminal's Ctrl-C (or a supervisor's group signal) reaches
    // the whole foreground group, and Redis must outlive the roles' shutdown, not die first.
    // It then no longer dies with us, so setpriv (Linux) asks the kernel to send it SIGTERM
    // should this process end without stopping it, even by SIGKILL.
    const setpriv = findExecutable('setpriv');
    const command = setpriv ? [setpriv, '--pdeathsig', 'TERM', '--', this.executable] : [this.executable];
    const child = spawn(
      command[0]!,
      [
        ...command.slice(1),
        '--port', String(this.port),
        '--bind', '127.0.0.1',
        '--dir', this.dir,
        '--save', '',
        '--appendonly', this.appendOnly ? 'yes' : 'no',
        '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no',
        '--protected-mode', 'yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.child = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.once('exit', (code) => {
        this.child = undefined;
        reject(new Error(`redis-server exited with code ${code} before it was ready:\n${log.slice(-2000)}`));
      });
      child.once('error', reject);
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
  }

  /** Graceful stop (SIGTERM); with `hard`, SIGKILL as after a crash. */
  async stop({ hard = false } = {}): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.child = undefined;
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    // A redis-server that does not finish its shutdown must not hold ours.
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
    await exited;
    clearTimeout(force);
    this.child = undefined;
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
