import type { Sandbox as E2BSdkSandbox } from 'e2b';
import type { Limits } from '../../../shared/contract/limits.js';
import type { Logger } from '../../../shared/logger.js';
import type { ArtifactCollection } from '../Artifact.js';
import { SandboxLostError } from '../SandboxLostError.js';
import type { Program, RunOptions, RunOutcome, Runtime, WarmSandbox } from '../SandboxProvider.js';
import { programFiles } from '../common/jobSpec.js';
import { checkArtifactsReadable, checkRunnable } from '../common/oneProgram.js';
import { classifyE2BError, describeError } from './classifyE2BError.js';
import { collectE2BArtifacts } from './collectE2BArtifacts.js';
import { specFiles, WORK_DIR } from './launchCommand.js';
import { runCommand } from './runCommand.js';

/** What a sandbox must outlive its program by: files in, artifacts out, the kill. */
export const JOB_MARGIN_MS = 30_000;

export interface E2BSandboxSettings {
  requestTimeoutMs: number;
  /** The E2B-side lifetime of a sandbox waiting in the pool, renewed while it waits. */
  idleLifetimeMs: number;
  launchCommand: (program: Program) => string;
  /** The transpiler's bytes, for a TypeScript job's upload (undefined: the provider does not transpile). */
  transpiler: () => Promise<Buffer | undefined>;
  kill: (sandboxId: string) => Promise<boolean>;
  logger: Logger;
}

type State = 'idle' | 'claimed' | 'gone';

/**
 * One E2B microVM for one program. A warm one waits in the pool with its
 * E2B timeout renewed (`setTimeout`) until a job claims it; at the claim its
 * remaining life is stretched to cover the job's timeout. E2B kills a
 * sandbox nobody renews, so a crashed worker leaves nothing billing for
 * longer than E2B_SANDBOX_TIMEOUT_MS (the sweep usually kills it sooner).
 * The job's memory and process limits are not applied: the VM's size is
 * the template's.
 */
export class E2BSandbox implements WarmSandbox {
  readonly startedAt = Date.now();
  private state: State;
  private expiresAt: number;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly exitCallbacks: (() => void)[] = [];
  private used = false;
  private destroying: Promise<void> | undefined;
  private readonly onDestroyed: () => void;

  constructor(
    private readonly sdk: E2BSdkSandbox,
    readonly runtime: Runtime,
    private readonly settings: E2BSandboxSettings,
    options: { warm: boolean; lifetimeMs: number; onDestroyed: () => void },
  ) {
    this.state = options.warm ? 'idle' : 'claimed';
    this.expiresAt = Date.now() + options.lifetimeMs;
    this.onDestroyed = options.onDestroyed;
    if (options.warm) {
      this.keepAlive = setInterval(() => void this.renew(), Math.max(250, Math.floor(settings.idleLifetimeMs / 3)));
      this.keepAlive.unref();
    }
  }

  get id(): string {
    return this.sdk.sandboxId;
  }

  get alive(): boolean {
    return this.state !== 'gone';
  }

  /** Waiting in the pool, so a job held back by the concurrency cap may have its slot. */
  get evictable(): boolean {
    return this.state === 'idle';
  }

  onExit(callback: () => void): void {
    this.exitCallbacks.push(callback);
  }

  /** Gives up an idle sandbox so that a job waiting for a slot gets one. */
  evict(): Promise<void> {
    this.lose('evicted for a job waiting for a slot');
    return this.destroy();
  }

  async claim(limits: Limits): Promise<boolean> {
    if (this.state !== 'idle') return false;
    this.state = 'claimed';
    this.stopKeepAlive();
    const needed = limits.timeoutMs + JOB_MARGIN_MS;
    if (this.expiresAt - Date.now() >= needed) return true;
    try {
      await this.sdk.setTimeout(needed, { requestTimeoutMs: this.settings.requestTimeoutMs });
      this.expiresAt = Date.now() + needed;
      return true;
    } catch (error) {
      this.settings.logger.warn({ sandboxId: this.id, err: error }, 'a warm E2B sandbox could not be claimed');
      this.state = 'gone';
      return false;
    }
  }

  async run(program: Program, options: RunOptions): Promise<RunOutcome> {
    checkRunnable({ runtime: this.runtime, used: this.used, destroyed: false }, program);
    this.used = true;
    if (this.state === 'gone') throw new SandboxLostError('the E2B sandbox ended before its program was handed over');
    const transpiler = program.transpile ? await this.settings.transpiler() : undefined;
    const files = [...programFiles(program), ...specFiles(program, transpiler)];
    try {
      // One upload; the SDK cannot send Buffers, so each travels as a Blob.
      await this.sdk.files.write(
        files.map((file) => ({ path: `${WORK_DIR}/${file.path}`, data: new Blob([new Uint8Array(file.content)]) })),
        { requestTimeoutMs: this.settings.requestTimeoutMs },
      );
    } catch (error) {
      throw new SandboxLostError(`the E2B sandbox could not take the job's files: ${describeError(error)}`);
    }
    return await runCommand(this.sdk, this.settings.launchCommand(program), {
      ...options,
      cwd: WORK_DIR,
      requestTimeoutMs: this.settings.requestTimeoutMs,
    });
  }

  async collectArtifacts(patterns: string[], maxBytes: number): Promise<ArtifactCollection> {
    checkArtifactsReadable({ used: this.used, destroyed: this.destroying !== undefined });
    return await collectE2BArtifacts(this.sdk, patterns, maxBytes, this.settings.requestTimeoutMs);
  }

  /** Kills the VM (E2B stops billing it); safe to call twice. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.state = 'gone';
      this.stopKeepAlive();
      try {
        await this.settings.kill(this.id);
      } catch (error) {
        // E2B ends it at its timeout; the sweep kills it before that.
        this.settings.logger.warn({ sandboxId: this.id, err: error }, 'could not kill an E2B sandbox');
      } finally {
        this.onDestroyed();
      }
    })();
    return this.destroying;
  }

  /** Pushes an idle sandbox's end out again; one E2B no longer has is dropped. */
  private async renew(): Promise<void> {
    if (this.state !== 'idle') return;
    try {
      await this.sdk.setTimeout(this.settings.idleLifetimeMs, { requestTimeoutMs: this.settings.requestTimeoutMs });
      this.expiresAt = Date.now() + this.settings.idleLifetimeMs;
    } catch (error) {
      if (classifyE2BError(error) === 'gone' || Date.now() >= this.expiresAt) this.lose('ended while idle');
      else this.settings.logger.debug({ sandboxId: this.id, err: error }, 'could not renew a warm E2B sandbox; trying again');
    }
  }

  private lose(reason: string): void {
    if (this.state !== 'idle') return;
    this.state = 'gone';
    this.stopKeepAlive();
    this.settings.logger.debug({ sandboxId: this.id, reason }, 'warm E2B sandbox dropped');
    for (const callback of this.exitCallbacks.splice(0)) callback();
  }

  private stopKeepAlive(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
