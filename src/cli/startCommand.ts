import { ApiRole } from '../api/ApiRole.js';
import { AccessPolicy } from '../api/auth/AccessPolicy.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { WorkerRole } from '../worker/WorkerRole.js';
import { RedisServerProcess } from './RedisServerProcess.js';

export type Role = 'all' | 'api' | 'worker';

export interface RunningService {
  api?: ApiRole;
  worker?: WorkerRole;
  redisServer?: RedisServerProcess;
  stop(): Promise<void>;
}

/**
 * Starts the given role(s). Without REDIS_URL, `all` brings its own private
 * redis-server (data in a temp dir, gone on exit); a single role needs REDIS_URL.
 */
export async function startService(role: Role, config: Config, logger: Logger): Promise<RunningService> {
  // An API that may not be exposed like this stops the start before anything runs.
  if (role !== 'worker') AccessPolicy.of(config);
  let redisServer: RedisServerProcess | undefined;
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    if (role !== 'all') {
      throw new Error(`REDIS_URL is not set. \`sandq start ${role}\` joins a deployment through a shared Redis: set REDIS_URL=redis://host:6379 (or run \`npm start\` for everything in one process).`);
    }
    redisServer = await RedisServerProcess.start({ executable: config.REDIS_SERVER_PATH });
    redisUrl = redisServer.url;
    logger.info({ redisUrl, dataDir: redisServer.dir, redisPid: redisServer.pid }, 'started a private redis-server (set REDIS_URL to use your own)');
  }

  const service: RunningService = {
    redisServer,
    async stop() {
      // API first (no new submissions), then the worker finishes its jobs, then Redis goes:
      // both roles need it to the end (results, hand-backs), and their closes are bounded should it be gone.
      try {
        await service.api?.close();
        await service.worker?.close();
      } finally {
        if (redisServer) {
          await redisServer.destroy();
          logger.info('stopped the private redis-server');
        }
      }
    },
  };
  try {
    if (role !== 'api') service.worker = await WorkerRole.start(config, redisUrl, logger);
    if (role !== 'worker') service.api = await ApiRole.start(config, redisUrl, logger);
  } catch (error) {
    await service.stop().catch(() => {});
    throw error;
  }
  return service;
}
