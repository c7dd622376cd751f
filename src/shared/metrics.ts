import { Registry } from 'prom-client';

/**
 * The one Prometheus registry of a sandq process. Each part defines its own
 * metrics next to its code and registers them here; `/metrics` serves it.
 */
export const metricsRegistry = new Registry();
