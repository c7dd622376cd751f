import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../shared/metrics.js';

/** The API's own figures; queue depth and workers are collected on scrape (queueMetrics). */
export const apiMetrics = {
  submitted: new Counter({
    name: 'sandq_executions_submitted_total',
    help: 'Executions accepted (queued), by language and owner (API key name)',
    labelNames: ['language', 'owner'] as const,
    registers: [metricsRegistry],
  }),
  rejected: new Counter({
    name: 'sandq_submissions_rejected_total',
    help: 'Executions refused by backpressure: rate_limited (429), too_many_queued (429), storage_full (507) or queue_full (503), by owner',
    labelNames: ['reason', 'owner'] as const,
    registers: [metricsRegistry],
  }),
  httpRequests: new Counter({
    name: 'sandq_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [metricsRegistry],
  }),
  httpSeconds: new Histogram({
    name: 'sandq_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (to the last byte; long-polls and event streams included)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [metricsRegistry],
  }),
};
