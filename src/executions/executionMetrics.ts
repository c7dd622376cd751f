import { Counter } from 'prom-client';
import { metricsRegistry } from '../shared/metrics.js';

/**
 * Figures about executions that both roles add to: the worker counts the
 * outcomes it decides, the API the executions it cancels while queued. One
 * definition, because a process running both roles has one registry.
 */
export const executionMetrics = {
  finished: new Counter({
    name: 'sandq_executions_finished_total',
    help: 'Executions that reached a final status, by status and language',
    labelNames: ['status', 'language'] as const,
    registers: [metricsRegistry],
  }),
};
