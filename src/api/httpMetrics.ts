import type { Request, RequestHandler } from 'express';
import { apiMetrics } from './apiMetrics.js';

/** The route pattern that answered (`/v1/executions/:id`), never the raw path: labels stay few. */
function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : 'unmatched';
}

/** Counts and times every request once it is answered (or abandoned by the client). */
export const httpMetrics: RequestHandler = (req, res, next) => {
  const started = performance.now();
  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    const route = routeOf(req);
    apiMetrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    apiMetrics.httpSeconds.observe({ method: req.method, route }, (performance.now() - started) / 1000);
  };
  res.once('finish', record);
  res.once('close', record);
  next();
};
