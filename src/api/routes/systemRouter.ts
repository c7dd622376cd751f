import { type Request, Router } from 'express';
import type { Redis } from 'ioredis';
import { listWorkers } from '../../shared/workerRegistry.js';
import type { OfferedLanguages } from '../OfferedLanguages.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';

/** Under a second, so that /readyz says 503 within one even when Redis hangs. */
const PING_TIMEOUT_MS = 900;

async function pingWithin(redis: Redis, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness, readiness and what the deployment can run. Readiness is open to
 * probes; the workers' warnings name host paths, worker ids and pids, so
 * they are listed only for the admin (`isAdmin`), everyone else gets their count.
 */
export function systemRouter(redis: Redis, queuePrefix: string, isAdmin: (req: Request) => boolean, languages: OfferedLanguages): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (req, res) => {
    if (!(await pingWithin(redis, PING_TIMEOUT_MS))) {
      throw new ProblemError('redis-unavailable', { detail: 'Not ready: the queue store (Redis) does not answer.' });
    }
    const workers = await listWorkers(redis, queuePrefix);
    const warnings = [...new Set(workers.flatMap((w) => (w.warnings ?? []).map((text) => `${w.id}: ${text}`)))];
    res.json({ status: 'ready', redis: 'ok', workers: workers.length, warningCount: warnings.length, warnings: isAdmin(req) ? warnings : [] });
  });

  router.get('/v1/languages', async (_req, res) => {
    res.json(await languages.listing());
  });

  return router;
}
