import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import type { Logger } from '../shared/logger.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData } from '../shared/queues.js';
import { createRedisConnection } from '../shared/redis.js';
import { settleWithin } from '../shared/settleWithin.js';
import { ANNOUNCEMENT_TTL_SECONDS, announceWorker, withdrawWorker, type WorkerAnnouncement } from '../shared/workerRegistry.js';
import { RUNTIME_OF } from './program/prepareProgram.js';
import { createExecutionProcessor } from './processExecution.js';
import { WorkerChannels } from './WorkerChannels.js';
import { localProviderOptions } from './sandbox/local/localProviderOptions.js';
import { LocalSandboxProvider } from './sandbox/local/LocalSandboxProvider.js';
import { SandboxPool } from './sandbox/SandboxPool.js';
import type { SandboxProvider } from './sandbox/SandboxProvider.js';

/** A worker process's share of sandq: takes execution jobs and runs them in sandboxes. */
export class WorkerRole {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly worker: Worker<ExecutionJobData, ExecutionOutcome>,
    private readonly provider: SandboxProvider,
    readonly pool: SandboxPool,
    private readonly channels: WorkerChannels,
    private readonly redis: Redis,
    private readonly announcement: WorkerAnnouncement,
    private readonly heartbeat: NodeJS.Timeout,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  static async start(config: Config, redisUrl: string, logger: Logger): Promise<WorkerRole> {
    const provider = await LocalSandboxProvider.start(localProviderOptions(config, logger));
    const pool = new SandboxPool(provider, {
      size: config.POOL_SIZE,
      runtimes: config.POOL_RUNTIMES,
      maxIdleMs: config.POOL_MAX_IDLE_SECONDS * 1000,
      healthIntervalMs: config.POOL_HEALTH_INTERVAL_MS,
      logger,
    });
    const runtimes = await provider.runtimes();
    const versionOf = new Map(runtimes.map((r) => [r.runtime, r.version]));
    const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const announcement: WorkerAnnouncement = {
      id,
      host: os.hostname(),
      provider: provider.name,
      languages: Object.entries(RUNTIME_OF).flatMap(([language, runtime]) => {
        const version = versionOf.get(runtime);
        return version ? [{ language, version }] : [];
      }),
      startedAt: new Date().toISOString(),
      warnings: provider.warnings(),
    };

    const redis = createRedisConnection(redisUrl, 'worker', `sandq-worker:${id}`);
    const channels = WorkerChannels.create(config, redis, logger);
    const { lifecycle } = channels;
    const worker = new Worker<ExecutionJobData, ExecutionOutcome>(
      EXECUTIONS_QUEUE,
      lifecycle.wrap(createExecutionProcessor({ sandboxes: pool, logger, maxArtifactBytes: config.MAX_ARTIFACT_BYTES, onOutput: lifecycle.onOutput })),
      { connection: redis, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY, name: id },
    );
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    worker.on('failed', (job, error) =>
      logger.warn({ executionId: job?.id, attempt: job?.attemptsMade, err: error }, 'execution attempt failed in the service'),
    );
    await channels.listenForCancels(worker);

    const announce = () =>
      announceWorker(redis, config.QUEUE_PREFIX, announcement).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not announce worker'),
      );
    await announce();
    const heartbeat = setInterval(announce, (ANNOUNCEMENT_TTL_SECONDS * 1000) / 3);
    heartbeat.unref();
    logger.info({ workerId: id, provider: provider.name, languages: announcement.languages, concurrency: config.WORKER_CONCURRENCY }, 'worker started');
    return new WorkerRole(worker, provider, pool, channels, redis, announcement, heartbeat, config, logger);
  }

  /** Stops taking jobs, lets running ones finish, then releases sandboxes and Redis. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      await this.worker.close();
      await this.channels.close();
      await this.pool.drain();
      await withdrawWorker(this.redis, this.config.QUEUE_PREFIX, this.announcement.id).catch(() => {});
      await this.provider.close();
      if (!(await settleWithin(this.redis.quit(), 2000))) this.redis.disconnect();
      this.logger.info({ workerId: this.announcement.id }, 'worker stopped');
    })();
    await this.closing;
  }
}
