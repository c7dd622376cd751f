import { Counter } from 'prom-client';
import { metricsRegistry } from '../shared/metrics.js';

/**
 * Figures about executions. The finalizer counts each execution once, in
 * whichever process (API or worker) made it final. One definition, because a
 * process running both roles has one registry.
 */
export const executionMetrics = {
  finished: new Counter({
    name: 'sandq_executions_finished_total',
    help: 'Executions that reached a final status, by status and language',
    labelNames: ['status', 'language'] as const,
    registers: [metricsRegistry],
  }),
};
