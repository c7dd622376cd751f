import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../src/api/auth/AccessPolicy.js';
import { loadConfig } from '../../src/shared/config.js';
import { ConfigError } from '../../src/shared/errors/ConfigError.js';
import { postJson, startTestService, type TestService } from '../helpers/service.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALICE = 'alice-key-0123456789abcdef';
const ALICE_NEW = 'alice-rotated-key-0123456789';
const BOB = 'bob-key-0123456789abcdefgh';
const ADMIN = { user: 'ops', password: 'correct horse battery' };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService(
    {
      // Alice's second key is given as its hash: the environment need not hold it.
      API_KEYS: `alice:${ALICE},bob:${BOB},alice:sha256:${sha256(ALICE_NEW)}`,
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
    },
    'api',
  );
});
afterAll(async () => {
  await svc?.stop();
});

const get = (url: string, headers: Record<string, string> = {}) => fetch(svc.baseUrl + url, { headers });
const valid = { language: 'bash', code: 'echo hi' };

async function submitAs(key: string, body: unknown = valid, headers: Record<string, string> = {}): Promise<string> {
  const res = await postJson(svc.baseUrl, '/v1/executions', body, { ...bearer(key), ...headers });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function expectProblem(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as { type: string; status: number; title: string };
  expect(body.status).toBe(status);
  if (status === 401) expect(body.type).toBe('urn:sandq:problem:unauthorized');
  if (status === 404) expect(body.type).toBe('urn:sandq:problem:not-found');
  return body;
}

describe('API keys', () => {
  it('answers a request without a key with 401 and a Bearer challenge', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', valid);
    await expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sandq"');
  });

  it.each([
    ['an unknown key', `Bearer ${'x'.repeat(30)}`],
    ['a key of another case', `Bearer ${ALICE.toUpperCase()}`],
    ['Basic credentials', `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}`],
    ['an empty Bearer', 'Bearer '],
  ])('answers %s with 401 invalid_token', async (_name, authorization) => {
    const res = await get('/v1/executions', { authorization });
    await expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sandq", error="invalid_token"');
  });

  it('guards every /v1 route, but not health, readiness and the docs', async () => {
    await expectProblem(await get('/v1/languages'), 401);
    await expectProblem(await get(`/v1/executions/ex_${'0'.repeat(32)}/events`), 401);
    await expectProblem(await fetch(`${svc.baseUrl}/v1/executions/ex_${'0'.repeat(32)}`, { method: 'DELETE' }), 401);
    for (const open of ['/healthz', '/readyz', '/openapi.json', '/docs']) expect((await get(open)).status, open).toBe(200);
  });

  it("lists the workers' warnings in /readyz only for the admin credentials", async () => {
    const { Redis } = await import('ioredis');
    const { announceWorker, withdrawWorker } = await import('../../src/shared/workerRegistry.js');
    const redis = new Redis(svc.redis.url);
    const warning = '/tmp/sandq is not a tmpfs: what a job writes to /work goes to disk';
    await announceWorker(redis, svc.config.QUEUE_PREFIX, { id: 'host-1234-abcd', host: 'host', provider: 'local', languages: [], startedAt: new Date().toISOString(), warnings: [warning] });
    try {
      const anyone = (await (await get('/readyz')).json()) as { warningCount: number; warnings: string[] };
      expect(anyone).toMatchObject({ warningCount: 1, warnings: [] });
      const admin = (await (await get('/readyz', basic(ADMIN.user, ADMIN.password))).json()) as { warnings: string[] };
      expect(admin.warnings).toEqual([`host-1234-abcd: ${warning}`]);
    } finally {
      await withdrawWorker(redis, svc.config.QUEUE_PREFIX, 'host-1234-abcd');
      redis.disconnect();
    }
  });

  it('accepts every key of a name, including one configured as its hash', async () => {
    const id = await submitAs(ALICE);
    const read = await get(`/v1/executions/${id}`, bearer(ALICE_NEW));
    expect(read.status).toBe(200);
    expect(((await read.json()) as { id: string }).id).toBe(id);
  });
});

describe('each execution belongs to the key that made it', () => {
  let aliceId: string;
  beforeAll(async () => {
    aliceId = await submitAs(ALICE, { ...valid, metadata: { who: 'alice' } });
  });

  it('is 404 to another key on get, wait, cancel and events, as an unknown id is', async () => {
    const unknown = await expectProblem(await get(`/v1/executions/ex_${'f'.repeat(32)}`, bearer(BOB)), 404);
    const other = await expectProblem(await get(`/v1/executions/${aliceId}`, bearer(BOB)), 404);
    expect(other.title).toBe(unknown.title);
    await expectProblem(await get(`/v1/executions/${aliceId}?wait=1`, bearer(BOB)), 404);
    await expectProblem(await get(`/v1/executions/${aliceId}/events`, { ...bearer(BOB), accept: 'text/event-stream' }), 404);
    await expectProblem(await fetch(`${svc.baseUrl}/v1/executions/${aliceId}`, { method: 'DELETE', headers: bearer(BOB) }), 404);
    // Bob's cancel did nothing: it is still queued for Alice.
    const mine = (await (await get(`/v1/executions/${aliceId}`, bearer(ALICE))).json()) as { status: string };
    expect(mine.status).toBe('queued');
  });

  it("lists only the key's own executions", async () => {
    const bobId = await submitAs(BOB);
    const list = async (key: string) => ((await (await get('/v1/executions?limit=100', bearer(key))).json()) as { items: { id: string }[] }).items.map((e) => e.id);
    const alices = await list(ALICE);
    const bobs = await list(BOB);
    expect(alices).toContain(aliceId);
    expect(alices).not.toContain(bobId);
    expect(bobs).toEqual([bobId]);
  });

  it('lets the owner cancel it; the event stream of a cancelled one is the owner\'s only', async () => {
    const id = await submitAs(ALICE);
    const cancel = await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE', headers: bearer(ALICE) });
    expect(cancel.status).toBe(202);
    await expectProblem(await get(`/v1/executions/${id}`, bearer(BOB)), 404);
    const stream = await get(`/v1/executions/${id}/events`, bearer(ALICE));
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('event: done');
    await expectProblem(await get(`/v1/executions/${id}/events`, bearer(BOB)), 404);
  });

  it('scopes Idempotency-Key per key: the same key names different executions for different owners', async () => {
    const key = { 'idempotency-key': 'order-42' };
    const alice = await submitAs(ALICE, { ...valid, code: 'echo alice' }, key);
    // Another body under the same Idempotency-Key: a conflict for Alice, a new execution for Bob.
    await expectProblem(await postJson(svc.baseUrl, '/v1/executions', { ...valid, code: 'echo bob' }, { ...bearer(ALICE), ...key }), 409);
    const bob = await submitAs(BOB, { ...valid, code: 'echo bob' }, key);
    expect(bob).not.toBe(alice);
    const replay = await postJson(svc.baseUrl, '/v1/executions', { ...valid, code: 'echo bob' }, { ...bearer(BOB), ...key });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { id: string }).id).toBe(bob);
  });
});

describe('admin routes', () => {
  it.each(['/admin/queues', '/metrics'])('%s asks for the admin credentials (HTTP Basic)', async (route) => {
    const none = await get(route);
    await expectProblem(none, 401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="sandq admin"/);
    await expectProblem(await get(route, basic(ADMIN.user, 'wrong password!')), 401);
    await expectProblem(await get(route, basic('someone', ADMIN.password)), 401);
    // An API key is not an admin credential.
    await expectProblem(await get(route, bearer(ALICE)), 401);
    const ok = await get(route, basic(ADMIN.user, ADMIN.password));
    expect(ok.status).toBe(200);
  });

  it('sends helmet\'s security headers and no X-Powered-By', async () => {
    const res = await get('/healthz');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('who may start an API', () => {
  const refusal = (env: Record<string, string>) => {
    try {
      AccessPolicy.of(loadConfig(env));
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems.join('\n');
    }
    return undefined;
  };

  it('refuses production without API_KEYS, and a non-loopback HOST without them', () => {
    expect(refusal({ NODE_ENV: 'production' })).toMatch(/^API_KEYS: required when NODE_ENV=production/);
    expect(refusal({ HOST: '0.0.0.0' })).toMatch(/^HOST: "0.0.0.0" is not a loopback address, and API_KEYS is not set/);
    expect(refusal({ HOST: '10.1.2.3' })).toMatch(/^HOST:/);
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) expect(refusal({ HOST: host }), host).toBeUndefined();
    expect(refusal({ HOST: '0.0.0.0', NODE_ENV: 'production', API_KEYS: `a:${ALICE}` })).toBeUndefined();
  });

  it('serves Bull Board and /metrics openly only from an open (loopback, non-production) API', () => {
    const admin = (env: Record<string, string>) => AccessPolicy.of(loadConfig(env)).admin;
    expect(admin({})).toBe('open');
    expect(admin({ API_KEYS: `a:${ALICE}` })).toBe('off');
    expect(admin({ API_KEYS: `a:${ALICE}`, NODE_ENV: 'production' })).toBe('off');
    expect(admin({ API_KEYS: `a:${ALICE}`, ADMIN_USER: 'ops', ADMIN_PASSWORD: ADMIN.password })).toBe('basic');
  });

  it('`sandq start` refuses to expose an open API, and says why, before starting anything', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', 'start', 'all'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '0.0.0.0', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output).toContain('HOST: "0.0.0.0" is not a loopback address, and API_KEYS is not set');
    expect(output).not.toContain('started a private redis-server');
  });

  it('warns in its logs when it runs open', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', 'start', 'api'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', REDIS_URL: svc.redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 20_000;
      while (!output.includes('api listening') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(output).toMatch(/"level":40,.*API_KEYS is not set: the API is open/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
