import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AdminCredentials } from '../shared/AdminCredentials.js';
import type { Config } from '../shared/config.js';
import type { ExecutionOutcome } from '../shared/contract/execution.js';
import type { Logger } from '../shared/logger.js';
import { collectProcessMetrics } from '../shared/metrics.js';
import { EXECUTIONS_QUEUE, type ExecutionJobData } from '../shared/queues.js';
import { createRedisConnection } from '../shared/redis.js';
import { settleWithin } from '../shared/settleWithin.js';
import { ANNOUNCEMENT_TTL_SECONDS, announceWorker, listWorkers, withdrawWorker, type WorkerAnnouncement } from '../shared/workerRegistry.js';
import { SHUTDOWN_ABORT } from './ExecutionLifecycle.js';
import { handBackForeignJobs } from './handBackForeignJobs.js';
import { createExecutionProcessor } from './processExecution.js';
import { languagesFromConfig } from '../shared/languages/languagesFromConfig.js';
import { WorkerChannels } from './WorkerChannels.js';
import { SandboxProviders } from './sandbox/SandboxProviders.js';
import { WorkerMetricsServer } from './WorkerMetricsServer.js';

/** After the grace period, how long aborted executions get to hand their jobs back before the worker lets go anyway. */
const HAND_BACK_MS = 10_000;
/** With Redis gone no job can be handed back: this is only for the aborts to kill their sandboxes. */
const ABORT_WITHOUT_REDIS_MS = 1000;
/** How long a close that needs Redis (a queue, a BullMQ worker, the connection) may take while Redis answers. */
const REDIS_CLOSE_MS = 2000;
/** How soon the worker tries Redis again after a failed call (BullMQ's default, 15 s, would outlast short outages). */
const RUN_RETRY_DELAY_MS = 1000;

/** A worker process's share of sandq: takes execution jobs and runs them in sandboxes. */
export class WorkerRole {
  private closing: Promise<void> | undefined;
  private metricsServer: WorkerMetricsServer | undefined;

  private constructor(
    readonly worker: Worker<ExecutionJobData, ExecutionOutcome>,
    /** Every provider this worker runs, each with its pool. */
    private readonly sandboxes: SandboxProviders,
    private readonly channels: WorkerChannels,
    private readonly redis: Redis,
    readonly workerId: string,
    private readonly heartbeat: NodeJS.Timeout,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  static async start(config: Config, redisUrl: string, logger: Logger): Promise<WorkerRole> {
    collectProcessMetrics();
    const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const redis = createRedisConnection(redisUrl, 'worker', `sandq-worker:${id}`);
    // Bound below; a provider's health may change before the first announcement.
    let announce = async (): Promise<void> => {};
    let sandboxes: SandboxProviders;
    try {
      sandboxes = await SandboxProviders.start(config, logger, {
        workerId: id,
        liveWorkers: async () => new Set((await listWorkers(redis, config.QUEUE_PREFIX)).map((w) => w.id)),
        onHealthChange: () => void announce(),
      });
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    const languages = languagesFromConfig(config);
    const startedAt = new Date().toISOString();
    // Read again at each heartbeat: warnings follow the providers' health.
    const announcement = async (): Promise<WorkerAnnouncement> => ({
      id,
      host: os.hostname(),
      provider: sandboxes.names.join(','),
      languages: await sandboxes.languages(languages),
      startedAt,
      warnings: sandboxes.warnings(),
    });

    const channels = WorkerChannels.create(config, redis, logger);
    const { lifecycle } = channels;
    const worker = new Worker<ExecutionJobData, ExecutionOutcome>(
      EXECUTIONS_QUEUE,
      handBackForeignJobs(
        lifecycle.wrap(createExecutionProcessor({ sandboxes, languages, logger, maxArtifactBytes: config.MAX_ARTIFACT_BYTES, onOutput: lifecycle.onOutput, onTestCase: lifecycle.onTestCase })),
        (provider, language) => sandboxes.runs(provider, language, languages),
        logger,
        config.HAND_BACK_TIMEOUT_MS,
      ),
      {
        connection: redis,
        prefix: config.QUEUE_PREFIX,
        concurrency: config.WORKER_CONCURRENCY,
        name: id,
        // A worker that dies (kill -9, a lost host) stops renewing its locks; its jobs are
        // taken again after about JOB_LOCK_MS to 2 x JOB_LOCK_MS, each such stall costing an attempt.
        lockDuration: config.JOB_LOCK_MS,
        stalledInterval: config.JOB_LOCK_MS,
        maxStalledCount: config.JOB_ATTEMPTS,
        runRetryDelay: RUN_RETRY_DELAY_MS,
      },
    );
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    worker.on('failed', (job, error) =>
      logger.warn({ executionId: job?.id, attempt: job?.attemptsMade, err: error }, 'execution attempt failed in the service'),
    );
    await channels.listenForCancels(worker);

    announce = async () => {
      await announceWorker(redis, config.QUEUE_PREFIX, await announcement()).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not announce worker'),
      );
    };
    await announce();
    const heartbeat = setInterval(announce, (ANNOUNCEMENT_TTL_SECONDS * 1000) / 3);
    heartbeat.unref();
    logger.info({ workerId: id, providers: sandboxes.names, languages: (await sandboxes.languages(languages)).map((l) => l.language), concurrency: config.WORKER_CONCURRENCY }, 'worker started');
    const role = new WorkerRole(worker, sandboxes, channels, redis, id, heartbeat, config, logger);
    if (config.WORKER_METRICS_PORT !== undefined) {
      try {
        role.metricsServer = await WorkerMetricsServer.start({
          host: config.WORKER_METRICS_HOST,
          port: config.WORKER_METRICS_PORT,
          credentials: config.ADMIN_USER === undefined ? undefined : new AdminCredentials(config.ADMIN_USER, config.ADMIN_PASSWORD!),
          health: () => ({ running: role.closing === undefined && worker.isRunning(), redis: redis.status }),
          logger,
        });
      } catch (error) {
        await role.close();
        throw error;
      }
    }
    return role;
  }

  /**
   * Stops taking jobs and gives running ones SHUTDOWN_GRACE_MS to finish.
   * Those still running then are aborted (their sandboxes killed) and handed
   * back to the queue, neither completed nor failed, for another worker.
   */
  private async stopTakingJobs(): Promise<void> {
    // With nothing running there is nothing to wait for; and BullMQ's patient close can wait
    // without end on a connection that came back from an outage (seen with bullmq 6.7).
    const closed = this.worker.close(this.channels.lifecycle.active.size === 0);
    if (await settleWithin(closed, this.config.SHUTDOWN_GRACE_MS)) return;
    this.logger.warn({ graceMs: this.config.SHUTDOWN_GRACE_MS }, 'shutdown grace is over: handing running executions back to the queue');
    this.worker.cancelAllJobs(SHUTDOWN_ABORT);
    if (!(await settleWithin(closed, this.redisAnswers ? HAND_BACK_MS : ABORT_WITHOUT_REDIS_MS))) {
      this.logger.error('running executions did not stop; leaving their jobs to be taken again once their locks lapse');
    }
  }

  private get redisAnswers(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Waits for a close that needs Redis, bounded: it would otherwise wait for
   * a Redis that is gone (BullMQ retries without end), and the service with it.
   */
  private async closeWithRedis(work: Promise<unknown>): Promise<boolean> {
    return await settleWithin(work, this.redisAnswers ? REDIS_CLOSE_MS : 0);
  }

  /**
   * Stops refilling the pools and taking jobs, lets running ones finish, then
   * releases sandboxes and Redis. Every wait on Redis is bounded.
   */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      // No job will take a warm sandbox now: destroy them, and start no more while jobs finish.
      const drained = Promise.all(this.sandboxes.names.map((name) => this.sandboxes.pool(name)?.drain()));
      await this.stopTakingJobs();
      await this.closeWithRedis(this.channels.close());
      // After the providers close: that ends creations (an e2b backoff) a drain would wait for.
      await this.sandboxes.close();
      await drained;
      await this.closeWithRedis(withdrawWorker(this.redis, this.config.QUEUE_PREFIX, this.workerId).catch(() => {}));
      if (!(await this.closeWithRedis(this.redis.quit().catch(() => {})))) this.redis.disconnect();
      await this.metricsServer?.close();
      this.logger.info({ workerId: this.workerId }, 'worker stopped');
    })();
    await this.closing;
  }
}
