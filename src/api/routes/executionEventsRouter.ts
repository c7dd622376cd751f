import { Router } from 'express';
import type { Redis } from 'ioredis';
import { type ExecutionStatus, type ExecutionView, isFinalStatus } from '../../shared/contract/execution.js';
import { type ExecutionEvents, isLiveEventId } from '../../executions/ExecutionEvents.js';
import type { Logger } from '../../shared/logger.js';
import { ownerOf } from '../auth/requireApiKey.js';
import type { HeldRequestSlots } from '../backpressure/HeldRequestSlots.js';
import type { ExecutionStore } from '../ExecutionStore.js';
import { ServerSentEvents } from '../sse/ServerSentEvents.js';
import { ProblemError } from '../../shared/problems/ProblemError.js';
import { executionIdParam, executionNotFound } from './executionIdParam.js';
import { methodNotAllowed } from './methodNotAllowed.js';

export interface ExecutionEventsRouterDeps {
  store: ExecutionStore;
  events: ExecutionEvents;
  /** A connection of the stream's own: its reads block. */
  openReader: () => Promise<Redis>;
  heartbeatMs: number;
  slots: HeldRequestSlots;
  /** Aborted when the API shuts down; open streams end then. */
  closing: AbortSignal;
  logger: Logger;
}

/** The end entry is written just before the job is marked final; wait this long for the mark. */
const FINAL_WAIT_MS = 5000;

interface Relay {
  id: string;
  owner: string;
  execution: ExecutionView;
  resumeAfter: string | undefined;
  sse: ServerSentEvents;
  reader: Redis;
  signal: AbortSignal;
}

/**
 * `GET /v1/executions/{id}/events`: `status` on each change, `stdout` and
 * `stderr` chunks (`{"text": …}`) as the program writes them, then `done` with
 * the execution, and the stream ends. Events from the live stream carry its
 * entry ids, so a reconnect with Last-Event-ID resumes after the last one seen.
 * A client that comes after the end gets `done` at once.
 */
export function executionEventsRouter(deps: ExecutionEventsRouterDeps): Router {
  const { store, events } = deps;
  const router = Router();

  async function relay({ id, owner, execution, resumeAfter, sse, reader, signal }: Relay): Promise<void> {
    let lastStatus: ExecutionStatus | undefined;
    const status = (value: ExecutionStatus, eventId?: string) => {
      if (value === lastStatus) return;
      lastStatus = value;
      sse.send('status', { status: value }, eventId);
    };
    const done = (final: ExecutionView, eventId?: string) => {
      status(final.status, eventId);
      sse.send('done', final);
    };

    if (resumeAfter === undefined) status(execution.status);
    let position = resumeAfter ?? '0';
    // Once the execution is final, read what is left without waiting, then finish.
    let draining = isFinalStatus(execution.status);
    while (!signal.aborted) {
      const entries = await events.read(reader, id, position, draining ? 0 : deps.heartbeatMs);
      for (const entry of entries) {
        position = entry.id;
        if (entry.type === 'stdout' || entry.type === 'stderr') sse.send(entry.type, { text: entry.data }, entry.id);
        else if (entry.type === 'test') sse.send('test', JSON.parse(entry.data) as unknown, entry.id);
        else if (entry.type === 'status') status(entry.data as ExecutionStatus, entry.id);
        else if (entry.type === 'end') {
          const final = await store.waitForFinal(id, owner, FINAL_WAIT_MS, signal);
          if (!final) return;
          if (isFinalStatus(final.status)) return done(final, entry.id);
          // Not final after all (its worker died in between): the retry writes on.
        }
      }
      if (entries.length > 0) continue;
      const current = await store.get(id, owner);
      if (!current) return;
      if (draining) return done(current);
      draining = isFinalStatus(current.status);
    }
  }

  router.get('/v1/executions/:id/events', async (req, res) => {
    const id = executionIdParam(req);
    const owner = ownerOf(res);
    const execution = await store.get(id, owner);
    if (!execution) throw executionNotFound(id);
    const lastEventId = req.get('last-event-id');
    const resumeAfter = lastEventId && isLiveEventId(lastEventId) ? lastEventId : undefined;
    if (resumeAfter === undefined && isFinalStatus(execution.status)) {
      // Over already: the execution holds all the output there was.
      const sse = new ServerSentEvents(res);
      sse.open();
      sse.send('status', { status: execution.status });
      sse.send('done', execution);
      sse.end();
      return;
    }

    const release = deps.slots.take(owner);
    if (!release) {
      throw new ProblemError('too-many-event-streams', { detail: 'This key (or this API process) holds as many open event streams as it may; close one or poll with ?wait= instead.' });
    }
    let reader: Redis;
    try {
      reader = await deps.openReader();
    } catch {
      release();
      throw new ProblemError('redis-unavailable', { detail: 'The queue store (Redis) cannot be reached; try again shortly.' });
    }
    const stop = new AbortController();
    const onClosing = () => stop.abort();
    deps.closing.addEventListener('abort', onClosing);
    if (deps.closing.aborted) stop.abort();
    res.on('close', () => stop.abort());
    // A blocked read ends when its connection does.
    stop.signal.addEventListener('abort', () => reader.disconnect());

    const sse = new ServerSentEvents(res);
    sse.open();
    const heartbeat = setInterval(() => sse.comment('heartbeat'), deps.heartbeatMs);
    try {
      await relay({ id, owner, execution, resumeAfter, sse, reader, signal: stop.signal });
    } catch (error) {
      // The client reconnects with Last-Event-ID and resumes.
      if (!stop.signal.aborted) deps.logger.warn({ executionId: id, err: error }, 'event stream failed');
    } finally {
      clearInterval(heartbeat);
      deps.closing.removeEventListener('abort', onClosing);
      reader.disconnect();
      release();
      sse.end();
    }
  });

  router.all('/v1/executions/:id/events', methodNotAllowed('GET', 'HEAD'));
  return router;
}
