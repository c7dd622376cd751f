import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../../shared/metrics.js';

/** The sandbox pool's figures, in one place (see SandboxPool). */
export const poolMetrics = {
  hits: new Counter({
    name: 'sandq_pool_hits_total',
    help: 'Jobs that got a warm sandbox from the pool',
    labelNames: ['provider', 'runtime'] as const,
    registers: [metricsRegistry],
  }),
  misses: new Counter({
    name: 'sandq_pool_misses_total',
    help: 'Jobs that had to start their own sandbox (pool empty, or no warm sandbox could take their limits)',
    labelNames: ['provider', 'runtime'] as const,
    registers: [metricsRegistry],
  }),
  warm: new Gauge({
    name: 'sandq_pool_warm_sandboxes',
    help: 'Warm sandboxes waiting in the pool',
    labelNames: ['provider', 'runtime'] as const,
    registers: [metricsRegistry],
  }),
  discarded: new Counter({
    name: 'sandq_pool_discarded_total',
    help: 'Warm sandboxes thrown away: died while idle, too old, or unable to take a job\'s limits',
    labelNames: ['provider', 'runtime', 'reason'] as const,
    registers: [metricsRegistry],
  }),
  acquireSeconds: new Histogram({
    name: 'sandq_pool_acquire_seconds',
    help: 'Time for a job to get a sandbox ready to run it (warm or started on demand)',
    labelNames: ['provider', 'runtime', 'source'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [metricsRegistry],
  }),
};
