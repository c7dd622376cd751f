import type { Limits } from '../../src/shared/contract/limits.js';
import type { ArtifactCollection } from '../../src/worker/sandbox/Artifact.js';
import type { Program, RunOptions, RunOutcome, Runtime, RuntimeVersion, Sandbox, SandboxProvider, WarmSandbox, LanguageVersion } from '../../src/worker/sandbox/SandboxProvider.js';
import type { LanguageDefinition } from '../../src/shared/languages/languageDefinition.js';
import { interpreterLanguages } from '../../src/worker/sandbox/common/interpreterLanguages.js';

/** A sandbox that runs nothing: its "program" prints its args. For the pool's logic, not for isolation. */
export class MemorySandbox implements WarmSandbox {
  readonly startedAt = Date.now();
  alive = true;
  destroyed = false;
  private exitCallbacks: (() => void)[] = [];

  constructor(
    readonly runtime: Runtime,
    /** Whether it was started ahead of its job, for the pool. */
    readonly warm: boolean,
  ) {}

  onExit(callback: () => void): void {
    this.exitCallbacks.push(callback);
  }

  async claim(): Promise<boolean> {
    return this.alive;
  }

  /** Ends it as a crash would, while it waits in the pool. */
  die(): void {
    this.alive = false;
    for (const callback of this.exitCallbacks.splice(0)) callback();
  }

  async run(program: Program, _options: RunOptions): Promise<RunOutcome> {
    const stdout = `${program.args.join(' ')}\n`;
    return { termination: 'exited', exitCode: 0, signal: null, stdout, stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8', stdoutTruncated: false, stderrTruncated: false, durationMs: 0, cpuTimeMs: null, memoryPeakBytes: null, limit: null };
  }

  async collectArtifacts(): Promise<ArtifactCollection> {
    return { artifacts: [], skipped: [] };
  }

  async destroy(): Promise<void> {
    this.alive = false;
    this.destroyed = true;
  }
}

/** Hands out MemorySandboxes and keeps every one it made, warm or for a job. */
export class MemorySandboxProvider implements SandboxProvider {
  readonly name = 'memory';
  readonly canPrewarm = true;
  readonly transpiles = false;
  readonly made: MemorySandbox[] = [];

  async prewarm(runtime: Runtime): Promise<WarmSandbox> {
    return this.make(runtime, true);
  }

  async create(runtime: Runtime, _limits: Limits): Promise<Sandbox> {
    return this.make(runtime, false);
  }

  async runtimes(): Promise<RuntimeVersion[]> {
    return [{ runtime: 'bash', version: '5' }];
  }

  async languages(definitions: readonly LanguageDefinition[]): Promise<LanguageVersion[]> {
    return interpreterLanguages(definitions, await this.runtimes(), { transpiles: false, transpilerVersion: '' });
  }

  warnings(): string[] {
    return [];
  }

  async close(): Promise<void> {}

  private make(runtime: Runtime, warm: boolean): MemorySandbox {
    const sandbox = new MemorySandbox(runtime, warm);
    this.made.push(sandbox);
    return sandbox;
  }
}
