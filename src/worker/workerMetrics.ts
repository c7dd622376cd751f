import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../shared/metrics.js';

/** A worker's figures beside the pool's (sandbox/poolMetrics) and the shared executionMetrics. */
export const workerMetrics = {
  queueWait: new Histogram({
    name: 'sandq_execution_queue_wait_seconds',
    help: 'Time from submission to a worker starting the execution (this attempt)',
    labelNames: ['language'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [metricsRegistry],
  }),
  duration: new Histogram({
    name: 'sandq_execution_duration_seconds',
    help: "The program's run time in its sandbox, by language and final status",
    labelNames: ['language', 'status'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [metricsRegistry],
  }),
  attemptFailures: new Counter({
    name: 'sandq_execution_attempt_failures_total',
    help: 'Attempts that failed in the service (not in the program), by language and error; they are retried up to JOB_ATTEMPTS',
    labelNames: ['language', 'error'] as const,
    registers: [metricsRegistry],
  }),
  sandboxesLost: new Counter({
    name: 'sandq_sandboxes_lost_total',
    help: 'Sandboxes that died before their program started (the program then ran in another one)',
    labelNames: ['runtime'] as const,
    registers: [metricsRegistry],
  }),
  requeued: new Counter({
    name: 'sandq_executions_requeued_total',
    help: 'Running executions handed back to the queue by a worker stopping after its shutdown grace',
    registers: [metricsRegistry],
  }),
  webhookDeliveries: new Counter({
    name: 'sandq_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retried, failed (last attempt), gone (410), refused (private target), skipped',
    labelNames: ['outcome'] as const,
    registers: [metricsRegistry],
  }),
};
