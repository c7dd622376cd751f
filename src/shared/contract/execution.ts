import type { Language } from './languages.js';
import type { TestCaseResult, TestSummary } from './testCases.js';

const FINAL_STATUSES = [
  'succeeded',
  'failed',
  'compile_failed',
  'timed_out',
  'memory_exceeded',
  'output_exceeded',
  'cancelled',
  'error',
] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export const EXECUTION_STATUSES = ['queued', 'running', ...FINAL_STATUSES] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export function isFinalStatus(status: ExecutionStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

/** The limit that stopped a program (`timed_out`, `memory_exceeded`, `output_exceeded`, or SIGXFSZ), by its request field. */
export type RunLimit = 'timeoutMs' | 'cpuTimeMs' | 'memoryMb' | 'maxOutputBytes' | 'maxFileBytes';

/** What a step used, from the job's cgroup; null where the sandbox cannot tell (no cgroups, a provider that does not say). */
export interface ResourceUse {
  /** CPU time of all its processes, user and system. */
  cpuTimeMs: number | null;
  /** The highest memory use of all its processes together, files in its tmpfs mounts included. */
  memoryPeakBytes: number | null;
}

/** How a request wants stdout and stderr in its result (`outputEncoding`). */
export const OUTPUT_ENCODINGS = ['utf8', 'base64'] as const;
export type OutputEncoding = (typeof OUTPUT_ENCODINGS)[number];

/**
 * How a result's stdout or stderr is written: `utf8`, the program's bytes as
 * text; `utf8-replaced`, text where bytes that were not UTF-8 became U+FFFD;
 * `base64`, the exact bytes (`outputEncoding: "base64"`).
 */
export type StreamEncoding = 'utf8' | 'utf8-replaced' | 'base64';

/** How one program (a compile, a run, a test case) ended, what it wrote and what it used. */
export interface ProgramRun extends ResourceUse {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutEncoding: StreamEncoding;
  stderrEncoding: StreamEncoding;
  durationMs: number;
}

/** A compiled language's compile step: what the compiler said, and how it ended. */
export interface CompileResult extends ProgramRun {
  /** The compile limit that stopped the compiler, if one did. */
  limit: 'compileTimeoutMs' | 'compileMemoryMb' | 'maxOutputBytes' | 'maxFileBytes' | null;
}

/** A run of the program itself (the execution's, or a test case's): its output may be cut at maxOutputBytes. */
export interface ProgramRunResult extends ProgramRun {
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The limit that stopped the program, if one did. */
  limit: RunLimit | null;
}

export interface ExecutionResult extends ProgramRunResult {
  /** The compile step, for compiled languages (null for the others); with `compile_failed` the program never ran. */
  compile: CompileResult | null;
  /** A test-case submission: a row per case, in request order (null without `tests`). */
  tests: TestCaseResult[] | null;
  /** How many cases passed, of how many (null without `tests`). */
  summary: TestSummary | null;
  queuedMs: number;
  /** Files matching the request's `artifacts` patterns, base64. */
  artifacts: ArtifactView[];
  /** Matching paths that were not returned, with the reason (a link, a device, over the size limit). */
  skippedArtifacts: { path: string; reason: string }[];
}

export interface ArtifactView {
  path: string;
  size: number;
  encoding: 'base64';
  content: string;
}

/** Why the service (not the user's code) could not run an execution. */
export interface ExecutionError {
  code: string;
  message: string;
}

/** What a worker stores as the job's return value once an execution is final. */
export interface ExecutionOutcome {
  status: FinalStatus;
  result: ExecutionResult | null;
  error: ExecutionError | null;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** Where the execution's webhook stands; `lastError` is the last failed attempt's reason. */
export interface WebhookDeliveryView {
  url: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastError: string | null;
}

/** The execution as clients see it (`GET /v1/executions/{id}`, webhooks, SSE `done`). */
export interface ExecutionView {
  id: string;
  status: ExecutionStatus;
  language: Language;
  provider: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempts: number;
  metadata: Record<string, string>;
  result: ExecutionResult | null;
  error: ExecutionError | null;
  /** The webhook's delivery, when the request asked for one (a webhook body leaves this out). */
  webhook: WebhookDeliveryView | null;
}
