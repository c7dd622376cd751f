import { RedisServerProcess } from '../../src/cli/RedisServerProcess.js';

/** A real redis-server on a free port for one test file; stop/resume it to simulate outages. */
export async function startTestRedis(options: { appendOnly?: boolean } = {}): Promise<RedisServerProcess> {
  return await RedisServerProcess.start(options);
}
