import type { ExecutionResult, OutputEncoding } from '../../shared/contract/execution.js';
import type { Limits } from '../../shared/contract/limits.js';
import type { ArtifactCollection } from './Artifact.js';

import type { LanguageDefinition, Launcher } from '../../shared/languages/languageDefinition.js';

/** The warm launchers a sandbox can start; every language names one (TypeScript runs on node, compiled languages on bash). */
export type Runtime = Launcher;

export interface LanguageVersion {
  language: string;
  version: string;
}

export interface RuntimeVersion {
  runtime: Runtime;
  version: string;
}

export interface ProgramFile {
  /** Relative to the work dir; already validated by the request schema. */
  path: string;
  content: Buffer;
}

/** Everything a sandbox needs to run one program; produced by the processor, provider-neutral. */
export interface Program {
  runtime: Runtime;
  /** Work-dir relative file the runtime is started with; the source itself is written there unless `transpile` is set. */
  entryFile: string;
  /** What the bash launcher execs (the language's run command); the request's args follow. */
  command: readonly string[];
  /**
   * Compiled languages: run first, in the same sandbox and work dir, under
   * its own limits; the program runs only when it exits 0.
   */
  compile?: { command: readonly string[]; limits: Limits };
  /**
   * TypeScript: the source is written to `from`, and the sandbox bundles
   * it, with the job's files it imports, to `entryFile` before the program
   * starts, on the job's clock and within its limits, like any other work
   * derived from the request.
   */
  transpile?: { from: string };
  /**
   * Test cases: the program (compiled once) runs once per case instead of
   * once, each in a fresh sandbox state. Their expected output stays with
   * the worker, never in a sandbox.
   */
  cases?: ProgramCase[];
  source: string;
  stdin: string;
  args: string[];
  env: Record<string, string>;
  files: ProgramFile[];
}

/** One test case's input, its own timeout (never above the job's) and output cap (its share of TEST_CASES_OUTPUT_BYTES). */
export interface ProgramCase {
  stdin: string;
  args: string[];
  timeoutMs: number;
  maxOutputBytes: number;
}

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  limits: Limits;
  /** Aborting kills the program; the outcome then says `cancelled`. */
  signal?: AbortSignal;
  /** How the outcome gives stdout and stderr. @defaultValue 'utf8' */
  outputEncoding?: OutputEncoding;
  /** Called with each chunk as the program writes it (within the output cap); not for test cases. */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** Test cases: called as each case ends, in order. */
  onCase?: (index: number, outcome: RunOutcome) => void;
}

/** How the program's run ended, from the sandbox's point of view. */
export type Termination = 'exited' | 'timed_out' | 'output_exceeded' | 'memory_exceeded' | 'cancelled' | 'compile_failed' | 'not_run';

/** The run's part of the execution result (the processor adds queue time and artifacts), and how it ended. */
export type RunOutcome = Pick<
  ExecutionResult,
  'exitCode' | 'signal' | 'stdout' | 'stderr' | 'stdoutEncoding' | 'stderrEncoding' | 'stdoutTruncated' | 'stderrTruncated' | 'durationMs' | 'cpuTimeMs' | 'memoryPeakBytes' | 'limit'
> & {
  termination: Termination;
  /** A compiled language's compile step, as it ended; with `compile_failed` the program never ran. */
  compile?: Omit<RunOutcome, 'compile'>;
  /** Test cases: each case's run, in order (the outcome itself then sums them). */
  cases?: Omit<RunOutcome, 'compile' | 'cases'>[];
};

/** One isolated environment, used for exactly one program and then destroyed. */
export interface Sandbox {
  readonly runtime: Runtime;
  run(program: Program, options: RunOptions): Promise<RunOutcome>;
  /** After `run`: the work-dir files matching `patterns`, up to `maxBytes` in all. */
  collectArtifacts(patterns: string[], maxBytes: number): Promise<ArtifactCollection>;
  /** Kills whatever still runs and removes every trace; safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * A sandbox started ahead of its job and kept in a pool. It takes a job's
 * limits when claimed; `claim` says false when it cannot (it died, or its
 * memory use is already above the job's limit) and must then be destroyed.
 */
export interface WarmSandbox extends Sandbox {
  readonly startedAt: number;
  readonly alive: boolean;
  /** Called once if the sandbox ends while idle. */
  onExit(callback: () => void): void;
  claim(limits: Limits): Promise<boolean>;
}

/** A source of sandboxes (local bubblewrap, E2B, …). Knows nothing about queues. */
export interface SandboxProvider {
  readonly name: string;
  /**
   * Whether sandboxes can be started ahead of their job: false when this
   * provider cannot apply a job's limits after the start (then every job
   * starts its own sandbox).
   */
  readonly canPrewarm: boolean;
  /** Whether its sandboxes can transpile TypeScript (Program.transpile); without it, TypeScript is not offered. */
  readonly transpiles: boolean;
  /** Starts a sandbox ahead of any job, for the pool. */
  prewarm(runtime: Runtime): Promise<WarmSandbox>;
  /** Runtimes this provider can really start here, with versions. */
  runtimes(): Promise<RuntimeVersion[]>;
  /** Which of the defined languages this provider really runs here, with the toolchain's version. */
  languages(definitions: readonly LanguageDefinition[]): Promise<LanguageVersion[]>;
  /** Conditions that weaken isolation here, for the operator (/readyz, logs). */
  warnings(): string[];
  /** Starts a sandbox for one job, with its limits from the start. */
  create(runtime: Runtime, limits: Limits): Promise<Sandbox>;
  close(): Promise<void>;
}
