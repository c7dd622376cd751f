import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServerProcess } from '../../src/cli/RedisServerProcess.js';
import { type RunningService, startService } from '../../src/cli/startCommand.js';
import { loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { executionKeys } from '../../src/executions/executionKeys.js';
import { sandqKeys } from '../../src/shared/redisKeys.js';
import { startTestRedis } from '../helpers/redis.js';
import { postJson, runExecution, startTestService, type TestService } from '../helpers/service.js';
import { SseClient } from '../helpers/sse.js';

const KEYS = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdefgh', carol: 'carol-key-0123456789abcdef' };
const API_KEYS = Object.entries(KEYS).map(([name, key]) => `${name}:${key}`).join(',');
const bearer = (name: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[name]}` });
const valid = { language: 'bash', code: 'true' };

async function expectProblem(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as { type: string; status: number; title: string; detail: string };
  expect(body.status).toBe(status);
  return body;
}

function retryAfter(res: Response): number {
  const value = res.headers.get('retry-after');
  expect(value).toMatch(/^\d+$/);
  return Number(value);
}

describe('per-key rate limit, held in Redis across API instances', () => {
  let redis: RedisServerProcess;
  const apis: RunningService[] = [];
  const base: string[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url, API_KEYS, RATE_LIMIT_PER_MINUTE: '5', MAX_QUEUE_DEPTH: '0' });
    for (let i = 0; i < 2; i++) {
      const api = await startService('api', config, createLogger('silent'));
      apis.push(api);
      base.push(`http://127.0.0.1:${api.api!.port}`);
    }
  });
  afterAll(async () => {
    for (const api of apis) await api.stop();
    await redis?.destroy();
  });

  const submit = (instance: number, name: keyof typeof KEYS, body: unknown = valid) => postJson(base[instance]!, '/v1/executions', body, bearer(name));
  const batch = (instance: number, name: keyof typeof KEYS, items: unknown[]) => postJson(base[instance]!, '/v1/executions/batch', { executions: items }, bearer(name));

  it('counts submissions to either instance against one limit per key, then answers 429 with Retry-After', async () => {
    for (const instance of [0, 1, 0, 1, 0]) expect((await submit(instance, 'alice')).status).toBe(202);
    for (const instance of [0, 1]) {
      const refused = await submit(instance, 'alice');
      const problem = await expectProblem(refused, 429);
      expect(problem.type).toBe('urn:sandq:problem:rate-limited');
      const seconds = retryAfter(refused);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
    }
    // Another key has its own budget.
    expect((await submit(1, 'bob')).status).toBe(202);
  });

  it('counts each execution of a batch, and not the invalid ones', async () => {
    // Bob has used 1 of 5: four valid items and an invalid one fit.
    const res = await batch(0, 'bob', [valid, valid, { language: 'cobol' }, valid, valid]);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: ({ id: string } | { error: unknown })[] };
    expect(items.filter((item) => 'id' in item)).toHaveLength(4);
    await expectProblem(await submit(1, 'bob'), 429);
    await expectProblem(await batch(1, 'bob', [valid]), 429);
  });

  it('refuses a batch bigger than the whole limit, and a refused batch uses up nothing', async () => {
    const tooBig = await batch(0, 'carol', Array.from({ length: 6 }, () => valid));
    expect((await expectProblem(tooBig, 429)).detail).toContain('holds 6 executions');
    retryAfter(tooBig);
    expect((await batch(1, 'carol', [valid, valid, valid])).status).toBe(200);
    // 3 of 5 used: a batch of 3 is refused whole, and its refusal leaves the 2 that remain.
    await expectProblem(await batch(0, 'carol', [valid, valid, valid]), 429);
    expect((await batch(1, 'carol', [valid, valid])).status).toBe(200);
    await expectProblem(await submit(0, 'carol'), 429);
  });
});

describe('queue depth', () => {
  let svc: TestService;
  beforeAll(async () => {
    // API only: nothing takes jobs, so the queue only grows.
    svc = await startTestService({ MAX_QUEUE_DEPTH: '3', RATE_LIMIT_PER_MINUTE: '0' }, 'api');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('admits exactly up to MAX_QUEUE_DEPTH from a concurrent burst, then answers 503 with Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => postJson(svc.baseUrl, '/v1/executions', valid)));
    expect(answers.filter((res) => res.status === 202)).toHaveLength(3);
    for (const refused of answers.filter((res) => res.status !== 202)) {
      expect((await expectProblem(refused, 503)).type).toBe('urn:sandq:problem:queue-full');
      expect(retryAfter(refused)).toBeGreaterThan(0);
    }
    // Past the 250 ms cache the depth is read again from Redis: still full.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expectProblem(await postJson(svc.baseUrl, '/v1/executions', valid), 503);
  });

  it('admits again once the queue has room', async () => {
    const list = (await (await fetch(`${svc.baseUrl}/v1/executions`)).json()) as { items: { id: string }[] };
    expect((await fetch(`${svc.baseUrl}/v1/executions/${list.items[0]!.id}`, { method: 'DELETE' })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A batch of 2 does not fit into 1 free place; a single execution does.
    await expectProblem(await postJson(svc.baseUrl, '/v1/executions/batch', { executions: [valid, valid] }), 503);
    expect((await postJson(svc.baseUrl, '/v1/executions', valid)).status).toBe(202);
    await expectProblem(await postJson(svc.baseUrl, '/v1/executions', valid), 503);
  });
});

describe('QUEUE_PREFIX with a Redis Cluster hash tag', () => {
  const PREFIX = '{sandq}';
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ QUEUE_PREFIX: PREFIX, POOL_SIZE: '0', WORKER_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('names every key sandq defines under the prefix', () => {
    const keys = { ...sandqKeys(PREFIX), ...executionKeys(PREFIX) };
    for (const [name, value] of Object.entries(keys)) {
      const key = typeof value === 'function' ? (value as (...parts: string[]) => string)('x', 'y') : value;
      expect(key.startsWith(`${PREFIX}:`), name).toBe(true);
    }
  });

  it('leaves no key in Redis outside the hash tag after jobs, events, cancels, idempotency and rate limiting', async () => {
    const done = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo hi' });
    expect(done.status).toBe('succeeded');
    const events = await SseClient.connect(`${svc.baseUrl}/v1/executions/${done.id}/events`);
    await events.ended;
    const idempotent = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'sleep 5' }, { 'idempotency-key': 'k1' });
    const { id } = (await idempotent.json()) as { id: string };
    expect((await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' })).status).toBe(202);
    await fetch(`${svc.baseUrl}/v1/executions?status=succeeded`);

    const client = new Redis(svc.redis.url);
    try {
      const all = await client.keys('*');
      expect(all.length).toBeGreaterThan(10);
      // Each kind of key we write is among them.
      for (const part of [':executions:', ':sandq:index:', ':sandq:stored:', ':sandq:ratelimit:', ':sandq:idempotency:', ':sandq:events:', ':sandq:cancel:', ':sandq:workers:']) {
        expect(all.some((key) => key.includes(part)), part).toBe(true);
      }
      expect(all.filter((key) => !key.startsWith(`${PREFIX}:`))).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});
