import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminCredentials } from '../shared/AdminCredentials.js';
import type { Logger } from '../shared/logger.js';
import { metricsRegistry } from '../shared/metrics.js';
import { adminCredentialsRequired } from '../shared/problems/adminCredentialsRequired.js';
import { ProblemError } from '../shared/problems/ProblemError.js';
import { writeProblem } from '../shared/problems/writeProblem.js';

/** What /healthz says about the worker. */
export interface WorkerHealth {
  /** The BullMQ worker is taking jobs (false once it is stopping). */
  running: boolean;
  /** The Redis connection's state (`ready`, `reconnecting`, …): informative; the worker waits out outages by itself. */
  redis: string;
}

export interface WorkerMetricsServerOptions {
  host: string;
  port: number;
  /** When set, /metrics asks for them (HTTP Basic); /healthz never does. */
  credentials: AdminCredentials | undefined;
  health: () => WorkerHealth;
  logger: Logger;
}

const PATHS = ['/healthz', '/metrics'];

/**
 * A worker has no API port, so its figures (executions run, durations, the
 * sandbox pool, webhook deliveries) would be out of Prometheus's reach: this
 * small listener (WORKER_METRICS_PORT) serves `GET /metrics` and, for
 * container health checks, `GET /healthz`.
 */
export class WorkerMetricsServer {
  private constructor(private readonly server: http.Server) {}

  static async start(options: WorkerMetricsServerOptions): Promise<WorkerMetricsServer> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (!PATHS.includes(path)) return writeProblem(res, new ProblemError('not-found', { detail: `No route for ${req.method} ${path}` }));
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return writeProblem(res, new ProblemError('method-not-allowed', { detail: `${path} answers GET and HEAD only.`, headers: { Allow: 'GET, HEAD' } }));
      }
      if (path === '/healthz') {
        const health = options.health();
        res.writeHead(health.running ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: health.running ? 'ok' : 'stopping', ...health }));
        return;
      }
      if (options.credentials && !options.credentials.accepts(req.headers.authorization)) return writeProblem(res, adminCredentialsRequired());
      metricsRegistry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metricsRegistry.contentType }).end(text),
        (error: unknown) => {
          options.logger.warn({ err: error }, 'could not collect metrics');
          writeProblem(res, new ProblemError('internal-error', { detail: 'The metrics could not be collected; the error is logged.' }));
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    options.logger.info({ url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics` }, 'worker metrics listening');
    return new WorkerMetricsServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
