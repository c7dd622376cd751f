import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The one Prometheus registry of a sandq process. Each part defines its own
 * metrics next to its code and registers them here; `/metrics` serves it.
 */
export const metricsRegistry = new Registry();

let processMetrics = false;

/** Adds Node's process figures (CPU, memory, event loop lag, …); once per process, whichever role asks first. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry });
}
