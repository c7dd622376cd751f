import type { EventEmitter } from 'node:events';
import type { Job, JobState, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CancelRequests } from '../executions/CancelRequests.js';
import type { Config } from '../shared/config.js';
import { type ExecutionOutcome, type ExecutionStatus, type ExecutionView, isFinalStatus } from '../shared/contract/execution.js';
import type { ExecutionRequest } from '../shared/contract/executionRequest.js';
import { CANCELLED_OUTCOME, type ExecutionFinalizer } from '../executions/ExecutionFinalizer.js';
import type { ExecutionRecords } from '../executions/ExecutionRecords.js';
import { toExecutionView } from '../executions/executionView.js';
import type { OwnerStorage } from '../shared/OwnerStorage.js';
import { type ExecutionJobData, executionJobOptions } from '../shared/queues.js';
import type { ExecutionIndex } from '../executions/ExecutionIndex.js';

export type ExecutionQueue = Queue<ExecutionJobData, ExecutionOutcome>;
type ExecutionJob = Job<ExecutionJobData, ExecutionOutcome>;

export interface ExecutionStoreDeps {
  queue: ExecutionQueue;
  queueEvents: QueueEvents;
  config: Config;
  records: ExecutionRecords;
  index: ExecutionIndex;
  cancels: CancelRequests;
  finalizer: ExecutionFinalizer;
  /** Takes an execution cancelled in the queue off its owner's queued set. */
  storage: OwnerStorage;
  /** The API's Redis connection: a long-poll ends (and answers 503) when it drops. */
  redis: Redis;
}

/** A request and the id it will be queued under. */
export interface Submission {
  id: string;
  request: ExecutionRequest;
}

export type CancelResult =
  | { kind: 'not-found' }
  /** Cancelled by this call: final at once when it was queued, within a second when running. */
  | { kind: 'accepted'; execution: ExecutionView }
  | { kind: 'already-cancelled'; execution: ExecutionView }
  | { kind: 'finished'; execution: ExecutionView };

export interface ListQuery {
  owner: string;
  status?: ExecutionStatus;
  limit: number;
  /** An index position from the previous page's cursor. */
  after?: string;
}

export interface ExecutionPage {
  items: ExecutionView[];
  /** Where the next page starts; undefined at the end. */
  next: string | undefined;
}

/** States in which no worker holds the job: it can be taken out of the queue. */
const QUEUED_STATES: ReadonlySet<JobState | 'unknown'> = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/** A filtered listing reads at most this many entries per request, then hands out a cursor. */
const MAX_SCANNED_PER_PAGE = 1000;

/**
 * Executions as the API sees them: jobs on the executions queue, read through
 * their state. Every call names the owner (the API key's name): an execution
 * of another owner is as absent as an unknown one.
 */
export class ExecutionStore {
  constructor(private readonly deps: ExecutionStoreDeps) {}

  async submit(owner: string, { id, request }: Submission): Promise<ExecutionView> {
    const job = await this.deps.queue.add('execute', this.jobData(owner, request), executionJobOptions(this.deps.config, id, request.priority));
    await this.deps.index.add(owner, [{ id, createdAt: job.timestamp }]);
    return toExecutionView(job, 'waiting');
  }

  /** Adds every request in one MULTI (BullMQ's addBulk): all of them are queued, or none. */
  async submitMany(owner: string, submissions: Submission[]): Promise<ExecutionView[]> {
    const jobs = await this.deps.queue.addBulk(
      submissions.map(({ id, request }) => ({
        name: 'execute',
        data: this.jobData(owner, request),
        opts: executionJobOptions(this.deps.config, id, request.priority),
      })),
    );
    await this.deps.index.add(owner, jobs.map((job) => ({ id: String(job.id), createdAt: job.timestamp })));
    return jobs.map((job) => toExecutionView(job, 'waiting'));
  }

  async get(id: string, owner: string): Promise<ExecutionView | undefined> {
    const found = await this.deps.records.readOwned(id);
    return found?.owner === owner ? found.view : undefined;
  }

  /**
   * Like `get`, but when the execution is not final yet, waits up to `waitMs`
   * for it to finish: woken by QueueEvents, not by polling. A failed attempt
   * that will be retried wakes the wait too, so it waits again for what is left.
   */
  async waitForFinal(id: string, owner: string, waitMs: number, signal: AbortSignal): Promise<ExecutionView | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Listen before reading, so a change between the read and the wait is not missed.
      const change = this.nextChange(id);
      try {
        const execution = await this.get(id, owner);
        const remaining = deadline - Date.now();
        if (!execution || isFinalStatus(execution.status) || remaining <= 0 || signal.aborted) return execution;
        // A dropped connection wakes the wait too: the next read fails, and the client hears 503 now.
        await Promise.race([change.happened, sleep(remaining), aborted(signal), change.connectionLost]);
      } finally {
        change.stop();
      }
    }
  }

  /**
   * Marks the execution cancelled, then takes it out of the queue if no worker
   * holds it; otherwise tells every worker, and the one running it kills it.
   * The mark comes first, so a worker that takes the job a moment later skips it.
   */
  async cancel(id: string, owner: string): Promise<CancelResult> {
    const current = await this.get(id, owner);
    if (!current) return { kind: 'not-found' };
    if (current.status === 'cancelled') return { kind: 'already-cancelled', execution: current };
    if (isFinalStatus(current.status)) return { kind: 'finished', execution: current };

    await this.deps.cancels.mark(id);
    const job = await this.deps.queue.getJob(id);
    if (job) {
      const state = await job.getState();
      if (QUEUED_STATES.has(state) && (await this.takeOutOfQueue(owner, job, state))) {
        return { kind: 'accepted', execution: (await this.get(id, owner)) ?? current };
      }
    }
    await this.deps.cancels.broadcast(id);
    const after = (await this.get(id, owner)) ?? current;
    // It may have ended on its own just before the cancel reached it.
    if (isFinalStatus(after.status) && after.status !== 'cancelled') return { kind: 'finished', execution: after };
    return { kind: 'accepted', execution: after };
  }

  /**
   * Newest first. With a status filter a page may hold fewer than `limit`
   * items (it stops after MAX_SCANNED_PER_PAGE entries); follow `next` until
   * it is undefined.
   */
  async list(query: ListQuery): Promise<ExecutionPage> {
    const { index, records } = this.deps;
    const items: ExecutionView[] = [];
    const chunk = query.status ? Math.max(query.limit * 2, 50) : query.limit;
    let position = query.after;
    let scanned = 0;
    let atEnd = false;
    while (items.length < query.limit && scanned < MAX_SCANNED_PER_PAGE) {
      const wanted = Math.min(chunk, MAX_SCANNED_PER_PAGE - scanned);
      const entries = await index.page(query.owner, position, wanted);
      const found = await records.readManyOwned(entries.map((e) => e.id));
      const gone: string[] = [];
      for (const [i, entry] of entries.entries()) {
        // The index is per owner; the owner check only guards against a stray entry.
        const execution = found[i]?.owner === query.owner ? found[i]!.view : undefined;
        position = entry.position;
        scanned++;
        if (!execution) gone.push(entry.position);
        else if (!query.status || execution.status === query.status) items.push(execution);
        if (items.length === query.limit) break;
      }
      await index.remove(query.owner, gone);
      if (entries.length < wanted && items.length < query.limit) {
        atEnd = true;
        break;
      }
    }
    if (!atEnd && position !== undefined) atEnd = (await index.page(query.owner, position, 1)).length === 0;
    return { items, next: atEnd ? undefined : position };
  }

  /**
   * Makes a job that failed for good final. The worker does that when its
   * processor gives up; a job that stalled too often is failed by BullMQ
   * without its processor, and only queue events say so. Every API instance hears them; the finalizer's
   * claim lets one act.
   */
  async finalizeFailed(id: string): Promise<void> {
    const job = await this.deps.queue.getJob(id);
    if (job && (await job.getState()) === 'failed') await this.deps.finalizer.finalize(id, job.data.request, null);
  }

  private jobData(owner: string, request: ExecutionRequest): ExecutionJobData {
    return { request, provider: request.provider ?? this.deps.config.SANDBOX_PROVIDER, owner };
  }

  /**
   * Keeps the cancelled view, then removes the job; BullMQ refuses to remove
   * a job a worker holds, and then it is running (and sees the mark). Says
   * whether the execution is now final.
   */
  private async takeOutOfQueue(owner: string, job: ExecutionJob, state: JobState | 'unknown'): Promise<boolean> {
    const id = String(job.id);
    const { records, queue, finalizer } = this.deps;
    await records.keepCancelled(owner, { ...toExecutionView(job, state), status: 'cancelled', finishedAt: new Date().toISOString() });
    try {
      await job.remove();
    } catch {
      if (await queue.getJob(id)) {
        await records.forgetCancelled(id);
        return false;
      }
      // Gone already: a concurrent cancel removed it.
    }
    await this.deps.storage.leftQueue(owner, id);
    await finalizer.finalize(id, job.data.request, CANCELLED_OUTCOME);
    return true;
  }

  private nextChange(id: string): { happened: Promise<void>; connectionLost: Promise<void>; stop: () => void } {
    // QueueEvents also emits `<event>:<jobId>`, which its typings do not list.
    const queueEvents = this.deps.queueEvents as unknown as EventEmitter;
    const events = ['completed', 'failed', 'removed'].map((name) => `${name}:${id}`);
    let wake: () => void = () => {};
    const happened = new Promise<void>((resolve) => (wake = resolve));
    let lost: () => void = () => {};
    const connectionLost = new Promise<void>((resolve) => (lost = resolve));
    for (const event of events) queueEvents.on(event, wake);
    this.deps.redis.on('close', lost);
    return {
      happened,
      connectionLost,
      stop: () => {
        events.forEach((event) => queueEvents.off(event, wake));
        this.deps.redis.off('close', lost);
      },
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
