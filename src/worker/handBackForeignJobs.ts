import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { ExecutionProcessor } from './ExecutionLifecycle.js';

/** How long a job this worker cannot run waits before any worker may take it again. */
const HAND_BACK_DELAY_MS = 2000;

/**
 * Executions share one queue whatever their provider and language. A worker
 * that lacks the provider a job names, or the language's toolchain (workers
 * differ: one has a JDK, another not; or mid-rollout) must not fail the job:
 * it puts it back, delayed a little so that another worker takes it, without
 * counting an attempt. This sits outside the lifecycle, so the job's stream
 * and webhook never hear of it. A job no worker has taken for `timeoutMs`
 * since its submission (none that runs it is left, or ever came) fails,
 * and its execution ends `error`, rather than wait forever.
 */
export function handBackForeignJobs(
  processor: ExecutionProcessor,
  runs: (provider: string, language: string) => Promise<boolean>,
  logger: Logger,
  timeoutMs: number,
): ExecutionProcessor {
  return async (job, token, signal) => {
    const { provider, request } = job.data;
    if (await runs(provider, request.language)) return await processor(job, token, signal);
    if (Date.now() - job.timestamp > timeoutMs) {
      logger.error({ executionId: job.id, provider, language: request.language }, 'no worker that runs the execution\'s language with its provider took it in time; failing it');
      throw new UnrecoverableError(`no worker that runs ${request.language} with the ${provider} provider took the job within ${timeoutMs} ms`);
    }
    logger.warn({ executionId: job.id, provider, language: request.language }, 'this worker does not run the execution\'s language with its provider; handing it back to the queue');
    await job.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, token);
    throw new DelayedError();
  };
}
