import { loadConfig, type Config } from '../../src/shared/config.js';
import type { ExecutionView } from '../../src/shared/contract/execution.js';
import { createLogger } from '../../src/shared/logger.js';
import { startService, type RunningService } from '../../src/cli/startCommand.js';
import { startTestRedis } from './redis.js';
import { isolatedSandbox } from './sandboxIsolation.js';
import type { RedisServerProcess } from '../../src/cli/RedisServerProcess.js';

export interface TestService {
  baseUrl: string;
  redis: RedisServerProcess;
  service: RunningService;
  config: Config;
  stop(): Promise<void>;
}

/**
 * The whole service (API + worker) in this process, on a free port, against a
 * private redis-server: the real path from HTTP through BullMQ to bubblewrap.
 * Its sandboxes get a work root and uid range of their own (see isolatedSandbox).
 */
export async function startTestService(env: Record<string, string> = {}, role: 'all' | 'api' = 'all'): Promise<TestService> {
  const redis = await startTestRedis();
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', WORKER_CONCURRENCY: '2', REDIS_URL: redis.url, ...isolatedSandbox(), ...env });
  const service = await startService(role, config, createLogger(config.LOG_LEVEL));
  return {
    baseUrl: `http://127.0.0.1:${service.api!.port}`,
    redis,
    service,
    config,
    async stop() {
      await service.stop();
      await redis.destroy();
    },
  };
}

export async function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Submits an execution and long-polls it to its final state. */
export async function runExecution(baseUrl: string, request: Record<string, unknown>, headers: Record<string, string> = {}): Promise<ExecutionJson> {
  const submitted = await postJson(baseUrl, '/v1/executions', request, headers);
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  for (;;) {
    const res = await fetch(`${baseUrl}/v1/executions/${id}?wait=30`, { headers });
    const execution = (await res.json()) as ExecutionJson;
    if (execution.status !== 'queued' && execution.status !== 'running') return execution;
  }
}

/** The execution as the API answers it (JSON of the shared contract type). */
export type ExecutionJson = ExecutionView;
