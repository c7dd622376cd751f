import type { Language } from './languages.js';

export const FINAL_STATUSES = [
  'succeeded',
  'failed',
  'timed_out',
  'memory_exceeded',
  'output_exceeded',
  'cancelled',
  'error',
] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export type ExecutionStatus = 'queued' | 'running' | FinalStatus;

export interface ExecutionResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
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
}
