import { DelayedError } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { ExecutionProcessor } from './ExecutionLifecycle.js';

/** How long a job this worker cannot run waits before any worker may take it again. */
const HAND_BACK_DELAY_MS = 2000;

/**
 * Executions share one queue whatever their provider. A worker that lacks
 * the provider a job names (its configuration differs from the API's, say
 * mid-rollout) must not fail the job: it puts it back, delayed a little so
 * that another worker takes it, without counting an attempt. This sits
 * outside the lifecycle, so the job's stream and webhook never hear of it.
 */
export function handBackForeignJobs(processor: ExecutionProcessor, has: (provider: string) => boolean, logger: Logger): ExecutionProcessor {
  return async (job, token, signal) => {
    if (has(job.data.provider)) return await processor(job, token, signal);
    logger.warn({ executionId: job.id, provider: job.data.provider }, 'this worker does not have the execution\'s provider; handing it back to the queue');
    await job.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, token);
    throw new DelayedError();
  };
}
