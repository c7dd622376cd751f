import type { JobsOptions } from 'bullmq';
import { resultTtlSeconds, type Config } from './config.js';
import type { ExecutionRequest } from './contract/executionRequest.js';
import { OPEN_OWNER } from './owner.js';

export const EXECUTIONS_QUEUE = 'executions';

/** What the API stores on the job; the job id is the execution id. */
export interface ExecutionJobData {
  request: ExecutionRequest;
  provider: string;
  /** The API key name that submitted it; only that key sees it. Absent on jobs from before owners (OPEN_OWNER). */
  owner?: string;
}

/** Whose execution a job is. */
export function ownerOfJob(data: ExecutionJobData): string {
  return data.owner ?? OPEN_OWNER;
}

/**
 * Retries are for infrastructure faults only: a user's failing program is a
 * completed job. Finished jobs are the stored results, kept for RESULT_TTL_MS.
 */
export function executionJobOptions(config: Config, executionId: string, priority: number): JobsOptions {
  return {
    jobId: executionId,
    priority,
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: resultTtlSeconds(config) },
    removeOnFail: { age: resultTtlSeconds(config) },
  };
}

export const WEBHOOKS_QUEUE = 'webhooks';

export const WEBHOOK_EVENT = 'execution.finished';

/** One webhook delivery: the execution is read when it is sent, so the body is its final state. */
export interface WebhookJobData {
  executionId: string;
  url: string;
  event: typeof WEBHOOK_EVENT;
}

/** An execution has one delivery; its id is the job id and the Sandq-Delivery header, the same on every retry. */
export function webhookDeliveryId(executionId: string): string {
  return `whd_${executionId.replace(/^ex_/, '')}`;
}

/** The job id makes the add idempotent: a processor that runs twice still enqueues one delivery. */
export function webhookJobOptions(config: Config, executionId: string): JobsOptions {
  return {
    jobId: webhookDeliveryId(executionId),
    attempts: config.WEBHOOK_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
    removeOnComplete: { age: resultTtlSeconds(config) },
    removeOnFail: { age: resultTtlSeconds(config) },
  };
}
