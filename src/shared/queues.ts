import type { JobsOptions } from 'bullmq';
import type { Config } from './config.js';
import type { ExecutionRequest } from './contract/executionRequest.js';

export const EXECUTIONS_QUEUE = 'executions';

/** What the API stores on the job; the job id is the execution id. */
export interface ExecutionJobData {
  request: ExecutionRequest;
  provider: string;
}

/**
 * Retries are for infrastructure faults only: a user's failing program is a
 * completed job. Finished jobs are the stored results, kept for RESULT_TTL_SECONDS.
 */
export function executionJobOptions(config: Config, executionId: string, priority: number): JobsOptions {
  return {
    jobId: executionId,
    priority,
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: config.RESULT_TTL_SECONDS },
    removeOnFail: { age: config.RESULT_TTL_SECONDS },
  };
}
