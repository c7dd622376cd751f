import type { Job, JobState } from 'bullmq';
import type { ExecutionOutcome, ExecutionStatus, ExecutionView } from '../shared/contract/execution.js';
import type { ExecutionJobData } from '../shared/queues.js';
import { type WebhookDeliveryState, webhookView } from './WebhookDeliveries.js';

type ExecutionJob = Job<ExecutionJobData, ExecutionOutcome>;

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/**
 * What a client hears of an execution the service failed to run. The job's
 * own failedReason stays in the worker's logs and Bull Board: it can name
 * host paths, pids and worker names, none of them the client's business.
 */
const SERVICE_FAILURE = 'the service could not run this execution; its operators find the reason in the worker logs under this execution id';

function statusOf(job: ExecutionJob, state: JobState | 'unknown'): ExecutionStatus {
  switch (state) {
    case 'completed':
      return job.returnvalue?.status ?? 'error';
    case 'failed':
      return 'error';
    case 'active':
      return 'running';
    default:
      // waiting, prioritized, delayed (a retry's backoff) and waiting-children are all "not started yet".
      return 'queued';
  }
}

/** The client's view of an execution, derived from its job, the job's state and its webhook's delivery. */
export function toExecutionView(job: ExecutionJob, state: JobState | 'unknown', delivery?: WebhookDeliveryState): ExecutionView {
  const status = statusOf(job, state);
  const outcome = state === 'completed' ? job.returnvalue : null;
  const final = state === 'completed' || state === 'failed';
  return {
    id: String(job.id),
    status,
    language: job.data.request.language,
    provider: job.data.provider,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: iso(job.processedOn),
    finishedAt: final ? iso(job.finishedOn) : null,
    attempts: job.attemptsStarted ?? job.attemptsMade,
    metadata: job.data.request.metadata,
    result: outcome?.result ?? null,
    error:
      outcome?.error ??
      (state === 'failed' ? { code: 'internal', message: SERVICE_FAILURE } : null),
    webhook: webhookView(job.data.request.webhook?.url, delivery),
  };
}
