import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { metricsRegistry } from '../shared/metrics.js';
import type { OwnerStorage } from '../shared/OwnerStorage.js';
import { listWorkers } from '../shared/workerRegistry.js';

/** What an API instance reads on each scrape. */
export interface QueueMetricsSource {
  queues: Queue[];
  redis: Redis;
  queuePrefix: string;
  storage: OwnerStorage;
  /** The owners whose stored bytes are reported. */
  owners: readonly string[];
}

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children'] as const;
const sources = new Set<QueueMetricsSource>();

/**
 * Deployment-wide figures, read from Redis when Prometheus scrapes (not kept
 * up to date in between). Every API instance reports the same values: query
 * them with max(), not sum(). A failed read leaves the series out and sets
 * sandq_redis_up to 0, so a scrape never fails because Redis is away.
 */
const queueJobs = new Gauge({
  name: 'sandq_queue_jobs',
  help: 'Jobs in each state of each queue (executions, webhooks), read on scrape',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
  async collect() {
    // Read first, then set: all queues at once, so a hung Redis costs one command timeout, not one per queue.
    const reads = [...sources].flatMap((source) => source.queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...STATES) })));
    const results = await Promise.allSettled(reads);
    this.reset();
    for (const result of results) {
      // Redis away: no figure rather than a wrong one.
      if (result.status !== 'fulfilled') continue;
      for (const state of STATES) this.set({ queue: result.value.queue, state }, result.value.counts[state] ?? 0);
    }
  },
});

const redisUp = new Gauge({
  name: 'sandq_redis_up',
  help: 'Whether Redis answered a PING from the API during this scrape (1) or not (0)',
  registers: [metricsRegistry],
  async collect() {
    // A PING rather than the connection's state: a hung Redis keeps its connections open.
    const answers = await Promise.all([...sources].map((source) => source.redis.ping().then((r) => r === 'PONG', () => false)));
    this.reset();
    if (answers.length > 0) this.set(answers.every(Boolean) ? 1 : 0);
  },
});

const liveWorkers = new Gauge({
  name: 'sandq_workers',
  help: 'Workers that announced themselves within the last 30 s',
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const source of sources) {
      try {
        this.set((await listWorkers(source.redis, source.queuePrefix)).length);
      } catch {
        // Redis away.
      }
    }
  },
});

const storedBytes = new Gauge({
  name: 'sandq_stored_bytes',
  help: "Bytes of requests and results each owner (API key name) keeps in Redis, as counted against MAX_STORED_BYTES_PER_KEY (an upper bound), read on scrape",
  labelNames: ['owner'] as const,
  registers: [metricsRegistry],
  async collect() {
    const results = await Promise.allSettled([...sources].map((source) => source.storage.storedBytes(source.owners)));
    this.reset();
    for (const result of results) {
      if (result.status !== 'fulfilled') continue;
      for (const [owner, bytes] of result.value) this.set({ owner }, bytes);
    }
  },
});

/** Reports `source` on scrapes until the returned function is called. */
export function watchQueues(source: QueueMetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

export const queueMetrics = { queueJobs, redisUp, liveWorkers, storedBytes };
