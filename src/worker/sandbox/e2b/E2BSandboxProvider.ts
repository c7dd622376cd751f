import { readFile } from 'node:fs/promises';
import type { Sandbox as SdkSandbox } from 'e2b';
import type { Limits } from '../../../shared/contract/limits.js';
import type { Logger } from '../../../shared/logger.js';
import { locateTranspiler, transpilerVersion } from '../../program/transpiler.js';
import type { LanguageDefinition } from '../../../shared/languages/languageDefinition.js';
import { interpreterLanguages } from '../common/interpreterLanguages.js';
import type { Program, Runtime, RuntimeVersion, Sandbox, SandboxProvider, WarmSandbox, LanguageVersion } from '../SandboxProvider.js';
import { RUNTIMES } from '../common/interpreters.js';
import { describeError } from './classifyE2BError.js';
import { type E2BConnection, E2BControlPlane } from './E2BControlPlane.js';
import { E2BSandbox, JOB_MARGIN_MS } from './E2BSandbox.js';
import { launchCommand, parseProbe, PROBE_COMMAND } from './launchCommand.js';
import { OrphanSweeper } from './OrphanSweeper.js';
import { SandboxSlots } from './SandboxSlots.js';
import { sandboxMetadata } from './sandboxMetadata.js';

export interface E2BProviderOptions {
  connection: E2BConnection;
  template: string;
  /** E2B-side lifetime of a sandbox nobody uses, renewed while it waits in the pool. */
  idleLifetimeMs: number;
  requestTimeoutMs: number;
  createRatePerSecond: number;
  maxConcurrentSandboxes: number;
  sweepIntervalMs: number;
  deploymentName: string;
  workerId: string;
  /** Ids of the workers announced now (throws when that cannot be known). */
  liveWorkers: () => Promise<ReadonlySet<string>>;
  /** Called when warnings() changes. */
  onHealthChange?: () => void;
  logger: Logger;
}

/**
 * Sandboxes as E2B microVMs through the official SDK. Creation is throttled
 * to the plan's rate and this worker's share of its concurrent sandboxes; a
 * job waiting for a slot takes one from an idle warm sandbox. Every sandbox
 * carries the deployment's and the worker's names, so that the sweep can
 * kill what crashed workers left, and shutdown kills this worker's own.
 */
export class E2BSandboxProvider implements SandboxProvider {
  readonly name = 'e2b';
  /** A job's limits need not be known at start: the VM is the template's size, and time is kept by the worker. */
  readonly canPrewarm = true;
  /** E2B's VMs are x86-64: the worker's own esbuild can travel to them only from an x86-64 worker. */
  readonly transpiles: boolean;

  private readonly controlPlane: E2BControlPlane;
  private readonly slots: SandboxSlots;
  private readonly sweeper: OrphanSweeper;
  private readonly held = new Set<E2BSandbox>();
  private readonly creating = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();
  private versions: RuntimeVersion[] = [];
  private closed: Promise<void> | undefined;
  private readonly transpilerPath: string | undefined;
  private transpilerBytes: Promise<Buffer> | undefined;

  private constructor(private readonly options: E2BProviderOptions) {
    this.transpilerPath = process.arch === 'x64' ? locateTranspiler() : undefined;
    this.transpiles = this.transpilerPath !== undefined;
    this.controlPlane = new E2BControlPlane({
      connection: options.connection,
      requestTimeoutMs: options.requestTimeoutMs,
      createRatePerSecond: options.createRatePerSecond,
      logger: options.logger,
      onHealthChange: options.onHealthChange,
    });
    this.slots = new SandboxSlots(options.maxConcurrentSandboxes);
    this.sweeper = new OrphanSweeper({
      controlPlane: this.controlPlane,
      deploymentName: options.deploymentName,
      workerId: options.workerId,
      liveWorkers: options.liveWorkers,
      holds: (id) => [...this.held].some((sandbox) => sandbox.id === id),
      // Longer than a creation can take, and than a starting worker takes to announce itself.
      graceMs: 2 * options.requestTimeoutMs,
      intervalMs: options.sweepIntervalMs,
      logger: options.logger,
    });
  }

  /**
   * Sweeps what crashed workers left, then asks the template's interpreters
   * their versions from a sandbox. Neither failing stops the worker: E2B may
   * be down for a moment, or reject the key (then warnings() says so).
   */
  static async start(options: E2BProviderOptions): Promise<E2BSandboxProvider> {
    const provider = new E2BSandboxProvider(options);
    await provider.sweeper.sweep().catch((error: unknown) => options.logger.warn({ err: error }, 'the first E2B leak sweep failed'));
    provider.sweeper.start();
    await provider.probe();
    return provider;
  }

  async runtimes(): Promise<RuntimeVersion[]> {
    return this.versions;
  }

  async languages(definitions: readonly LanguageDefinition[]): Promise<LanguageVersion[]> {
    return interpreterLanguages(definitions, this.versions, { transpiles: this.transpiles, transpilerVersion: transpilerVersion() });
  }

  warnings(): string[] {
    const problem = this.controlPlane.problem;
    return problem ? [problem] : [];
  }

  async create(runtime: Runtime, limits: Limits): Promise<Sandbox> {
    if (!this.slots.tryTake()) {
      // At the cap: a job outranks a warm sandbox that only waits.
      const idle = [...this.held].find((sandbox) => sandbox.evictable);
      if (idle) void idle.evict();
      await this.slots.take(this.closing.signal);
    }
    return await this.start(runtime, limits.timeoutMs + JOB_MARGIN_MS, false);
  }

  /** Waits, behind any job, for a slot: at the cap the pool fills again as sandboxes are killed. */
  async prewarm(runtime: Runtime): Promise<WarmSandbox> {
    await this.slots.take(this.closing.signal, true);
    const sandbox = await this.start(runtime, this.options.idleLifetimeMs, true);
    if (this.slots.waiting > 0) {
      await sandbox.destroy();
      throw new Error('a job was waiting for an E2B sandbox slot; it got this one');
    }
    return sandbox;
  }

  /** Stops creating, then kills every sandbox this worker holds, including those still being created. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new Error('the e2b provider is closing'));
      this.sweeper.stop();
      await Promise.allSettled([...this.creating]);
      await Promise.allSettled([...this.held].map((sandbox) => sandbox.destroy()));
    })();
    return this.closed;
  }

  /** Creates a sandbox in a slot already taken; the slot goes back when it is destroyed, or at once if it was never made. */
  private async start(runtime: Runtime, lifetimeMs: number, warm: boolean): Promise<E2BSandbox> {
    const sdk = await this.createInSlot(lifetimeMs);
    const sandbox: E2BSandbox = new E2BSandbox(sdk, runtime, this.sandboxSettings(), {
      warm,
      lifetimeMs,
      onDestroyed: () => {
        this.held.delete(sandbox);
        this.slots.give();
      },
    });
    this.held.add(sandbox);
    if (this.closing.signal.aborted) {
      await sandbox.destroy();
      throw new Error('the e2b provider is closing');
    }
    return sandbox;
  }

  private async createInSlot(lifetimeMs: number): Promise<SdkSandbox> {
    const creation = this.controlPlane.create(
      this.options.template,
      { metadata: sandboxMetadata(this.options.deploymentName, this.options.workerId), timeoutMs: lifetimeMs },
      this.closing.signal,
    );
    this.creating.add(creation);
    try {
      return await creation;
    } catch (error) {
      this.slots.give();
      throw error;
    } finally {
      this.creating.delete(creation);
    }
  }

  private sandboxSettings() {
    return {
      requestTimeoutMs: this.options.requestTimeoutMs,
      idleLifetimeMs: this.options.idleLifetimeMs,
      launchCommand: (program: Program) => launchCommand(program, this.versions),
      // Read once, when the first TypeScript job needs it.
      transpiler: async () => (this.transpilerPath ? await (this.transpilerBytes ??= readFile(this.transpilerPath)) : undefined),
      kill: (id: string) => this.controlPlane.kill(id),
      logger: this.options.logger,
    };
  }

  /** The template's interpreters and their versions; when they cannot be asked, all three, version unknown. */
  private async probe(): Promise<void> {
    try {
      await this.slots.take(this.closing.signal);
      const sdk = await this.createInSlot(JOB_MARGIN_MS);
      try {
        const { stdout } = await sdk.commands.run(PROBE_COMMAND, { timeoutMs: JOB_MARGIN_MS, requestTimeoutMs: this.options.requestTimeoutMs });
        this.versions = parseProbe(stdout);
        if (this.versions.length === 0) throw new Error(`no interpreter answered: ${stdout.trim()}`);
        this.options.logger.info({ template: this.options.template, runtimes: this.versions }, 'E2B template probed');
      } finally {
        await this.controlPlane.kill(sdk.sandboxId).catch(() => {});
        this.slots.give();
      }
    } catch (error) {
      this.versions = RUNTIMES.map((runtime) => ({ runtime, version: 'unknown' }));
      this.options.logger.warn(
        { template: this.options.template, err: error, detail: describeError(error) },
        'could not ask the E2B template its interpreters; assuming python3, node and bash',
      );
    }
  }
}
