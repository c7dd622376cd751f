import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService } from '../../../src/cli/startCommand.js';
import { createLogger } from '../../../src/shared/logger.js';
import { startTestService, type TestService } from '../../helpers/service.js';

/**
 * Attacks on the API itself rather than on the sandbox: a web page that
 * rebinds its domain to 127.0.0.1, writes through Bull Board, a key that
 * fills Redis, a key that holds every long-poll. Each part starts its own
 * service; none needs a sandbox to run.
 */
const KEY = 'surface-key-0123456789abcdef';
const ADMIN = { user: 'ops', password: 'surface admin password' };
const bearer = { authorization: `Bearer ${KEY}` };
const basic = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };
const valid = { language: 'bash', code: 'true' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with the Host header a browser would send for a rebound name; fetch does not let a caller set Host. */
function requestWithHost(baseUrl: string, host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, host }, agent: false });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

/** Raw bytes on a socket, for what an HTTP client library will not send (HTTP/1.0 without Host); the server closes after its answer. */
function sendRaw(baseUrl: string, request: string): Promise<string> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.once('connect', () => socket.write(request));
  });
}

function expectMisdirected(answer: Answer, host: string): void {
  expect(answer.status, host).toBe(421);
  expect(answer.headers['content-type'], host).toContain('application/problem+json');
  const problem = JSON.parse(answer.body) as { type: string; status: number; detail: string; errors: { path: string }[] };
  expect(problem.type).toBe('urn:sandq:problem:misdirected-request');
  expect(problem.status).toBe(421);
  expect(problem.detail).toContain('Host');
  expect(problem.detail).toContain('ALLOWED_HOSTS');
  expect(problem.errors).toEqual([expect.objectContaining({ path: 'Host' })]);
}

describe('DNS rebinding: an open API answers only requests addressed to it by a loopback name', () => {
  let svc: TestService;
  let port: string;
  beforeAll(async () => {
    svc = await startTestService({ ALLOWED_HOSTS: 'sandq.internal, Box-7', POOL_SIZE: '0' }, 'api');
    port = new URL(svc.baseUrl).port;
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it.each([
    ['POST', '/v1/executions'],
    ['GET', '/v1/executions'],
    ['GET', `/v1/executions/ex_${'0'.repeat(32)}?wait=1`],
    ['GET', '/admin/queues'],
    ['GET', '/admin/queues/api/queues'],
    ['GET', '/metrics'],
    ['GET', '/healthz'],
  ])('refuses %s %s for a rebound name with 421', async (method, path) => {
    const body = method === 'POST' ? JSON.stringify(valid) : undefined;
    for (const host of ['attacker.example', `attacker.example:${port}`, `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      expectMisdirected(await requestWithHost(svc.baseUrl, host, method, path, { 'content-type': 'application/json' }, body), host);
    }
  });

  it('refuses addresses and names that are not loopback ones', async () => {
    for (const host of ['10.0.0.1', '[::2]:80', '[::ffff:10.0.0.1]', '0.0.0.0', '128.0.0.1', 'localhostx', 'sandq.internal.attacker.example']) {
      expectMisdirected(await requestWithHost(svc.baseUrl, host, 'GET', '/v1/executions'), host);
    }
  });

  it.each([
    ['an HTTP/1.0 request without a Host header', 'GET /v1/executions HTTP/1.0\r\n\r\n'],
    ['an empty Host header', 'GET /v1/executions HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n'],
  ])('refuses %s', async (_name, request) => {
    const reply = await sendRaw(svc.baseUrl, request);
    expect(reply).toMatch(/^HTTP\/1\.1 421 /);
    expect(reply).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(reply).toContain('urn:sandq:problem:misdirected-request');
  });

  it('answers loopback names and addresses, with any port, and the names of ALLOWED_HOSTS', async () => {
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', '127.9.8.7:1', `localhost:${port}`, 'LocalHost', `dev.localhost:${port}`, `[::1]:${port}`, '[::1]', `sandq.internal:${port}`, 'box-7']) {
      const answer = await requestWithHost(svc.baseUrl, host, 'GET', '/v1/executions');
      expect(answer.status, host).toBe(200);
    }
    const submitted = await requestWithHost(svc.baseUrl, `localhost:${port}`, 'POST', '/v1/executions', { 'content-type': 'application/json' }, JSON.stringify(valid));
    expect(submitted.status).toBe(202);
  });
});

describe('DNS rebinding: an API with keys does not look at Host', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ API_KEYS: `surface:${KEY}`, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, POOL_SIZE: '0' }, 'api');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('asks for the key or the admin credentials whatever the Host, as a rebinding page cannot send them', async () => {
    expect((await requestWithHost(svc.baseUrl, 'sandq.example.com', 'GET', '/v1/executions')).status).toBe(401);
    expect((await requestWithHost(svc.baseUrl, 'sandq.example.com', 'GET', '/v1/executions', bearer)).status).toBe(200);
    expect((await requestWithHost(svc.baseUrl, 'sandq.example.com', 'GET', '/admin/queues')).status).toBe(401);
    expect((await requestWithHost(svc.baseUrl, 'sandq.example.com', 'GET', '/metrics', basic)).status).toBe(200);
  });
});

describe('Bull Board is read-only unless ADMIN_BOARD_WRITES', () => {
  // The API alone: nothing takes jobs, so the one submitted stays queued for the board to act on.
  const boardEnv = { API_KEYS: `surface:${KEY}`, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, POOL_SIZE: '0' };
  const board = (svc: TestService, method: string, path: string) => fetch(`${svc.baseUrl}/admin/queues/api/queues${path}`, { method, headers: basic });
  const submit = async (svc: TestService) => {
    const res = await fetch(`${svc.baseUrl}/v1/executions`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify(valid) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const status = async (svc: TestService, id: string) => (await fetch(`${svc.baseUrl}/v1/executions/${id}`, { headers: bearer })).status;

  describe('by default', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService(boardEnv, 'api');
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('shows the queues and refuses to remove a job, clean, retry or pause a queue', async () => {
      const id = await submit(svc);
      expect((await board(svc, 'GET', '')).status).toBe(200);
      for (const path of [`/executions/${id}/clean`, `/executions/${id}/retry`, '/executions/clean/waiting', '/executions/retry/failed', '/executions/pause', '/webhooks/empty']) {
        const refused = await board(svc, 'PUT', path);
        expect(refused.status, path).toBe(403);
        expect(((await refused.json()) as { type: string }).type, path).toBe('urn:sandq:problem:forbidden');
      }
      // So is pausing every queue at once.
      expect((await board(svc, 'PUT', '/pause')).status).toBe(403);
      expect(await status(svc, id)).toBe(200);
      const { queues } = (await (await board(svc, 'GET', '')).json()) as { queues: { name: string; isPaused: boolean; readOnlyMode: boolean }[] };
      expect(queues.map((q) => [q.name, q.readOnlyMode, q.isPaused])).toEqual([
        ['executions', true, false],
        ['webhooks', true, false],
      ]);
    });

    it('still asks for the admin credentials', async () => {
      expect((await fetch(`${svc.baseUrl}/admin/queues/api/queues`)).status).toBe(401);
    });
  });

  describe('with ADMIN_BOARD_WRITES=true', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService({ ...boardEnv, ADMIN_BOARD_WRITES: 'true' }, 'api');
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('removes a job when the operator asks', async () => {
      const id = await submit(svc);
      expect((await board(svc, 'PUT', `/executions/${id}/clean`)).status).toBe(204);
      expect(await status(svc, id)).toBe(404);
    });
  });
});

describe('long-polls are capped per key and per API process', () => {
  const OTHER_KEY = 'surface-other-key-0123456789';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let svc: TestService;
  const held: AbortController[] = [];
  beforeAll(async () => {
    // The API alone: executions stay queued, so a long-poll on one holds its request for the whole wait.
    svc = await startTestService({ API_KEYS: `surface:${KEY},other:${OTHER_KEY}`, LONG_POLL_MAX_PER_KEY: '2', LONG_POLL_MAX: '3', POOL_SIZE: '0' }, 'api');
  });
  afterAll(async () => {
    for (const controller of held) controller.abort();
    await svc?.stop();
  });

  const submit = async (key: string) => {
    const res = await fetch(`${svc.baseUrl}/v1/executions`, { method: 'POST', headers: { ...as(key), 'content-type': 'application/json' }, body: JSON.stringify(valid) });
    return ((await res.json()) as { id: string }).id;
  };
  /** A long-poll that stays open until aborted; its answer is ignored. */
  const hold = (key: string, id: string) => {
    const controller = new AbortController();
    held.push(controller);
    fetch(`${svc.baseUrl}/v1/executions/${id}?wait=60`, { headers: as(key), signal: controller.signal }).catch(() => {});
    return controller;
  };
  /** Waits until a one-second long-poll answers `status`: the held ones reach the server in their own time. */
  const eventuallyAnswered = async (key: string, id: string, status: number) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=1`, { headers: as(key) });
      if (res.status === status || Date.now() > deadline) return res;
    }
  };

  it('answers 429 with Retry-After past the cap of the key, then past that of the process, and frees a slot when a long-poll ends', async () => {
    const mine = await submit(KEY);
    const theirs = await submit(OTHER_KEY);
    const first = hold(KEY, mine);
    hold(KEY, mine);
    const refused = await eventuallyAnswered(KEY, mine, 429);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    const problem = (await refused.json()) as { type: string; detail: string };
    expect(problem.type).toBe('urn:sandq:problem:too-many-long-polls');
    expect(problem.detail).toContain('long-poll');

    // Reading without waiting needs no slot.
    expect((await fetch(`${svc.baseUrl}/v1/executions/${mine}`, { headers: as(KEY) })).status).toBe(200);
    // Nor does waiting for one that is final already: it is answered at once.
    const cancelled = await submit(KEY);
    expect((await fetch(`${svc.baseUrl}/v1/executions/${cancelled}`, { method: 'DELETE', headers: as(KEY) })).status).toBe(202);
    expect((await fetch(`${svc.baseUrl}/v1/executions/${cancelled}?wait=60`, { headers: as(KEY) })).status).toBe(200);

    // The other key has its own two, but the process holds three at most.
    hold(OTHER_KEY, theirs);
    expect((await eventuallyAnswered(OTHER_KEY, theirs, 429)).status).toBe(429);

    first.abort();
    expect((await eventuallyAnswered(KEY, mine, 200)).status).toBe(200);
  });
});

describe('storage fill: one key cannot fill Redis', () => {
  const FILLER_KEY = 'surface-filler-key-0123456789';
  const as = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const MAX_STORED = 200_000;
  /** A job whose request is about `bytes` long: its code is a comment. */
  const padded = (bytes: number) => ({ language: 'bash', code: `true # ${'x'.repeat(bytes)}` });
  const submit = (key: string, body: unknown) => fetch(`${svc.baseUrl}/v1/executions`, { method: 'POST', headers: as(key), body: JSON.stringify(body) });
  const storedBytes = async (owner: string) => {
    const text = await (await fetch(`${svc.baseUrl}/metrics`, { headers: basic })).text();
    const line = text.split('\n').find((l) => l.startsWith(`sandq_stored_bytes{owner="${owner}"}`));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({
      API_KEYS: `surface:${KEY},filler:${FILLER_KEY}`,
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
      MAX_STORED_BYTES_PER_KEY: String(MAX_STORED),
      MAX_QUEUED_PER_KEY: '2',
      RATE_LIMIT_PER_MINUTE: '0',
      POOL_SIZE: '0',
      WORKER_CONCURRENCY: '1',
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('answers 507 once the requests a key stores reach MAX_STORED_BYTES_PER_KEY, and shows the bytes in /metrics', async () => {
    const answers: Response[] = [];
    // Sequentially, each waiting for its predecessor's start: the queued cap is not what stops them here.
    for (let i = 0; i < 10; i++) {
      const res = await submit(FILLER_KEY, padded(40_000));
      answers.push(res);
      if (res.status !== 202) break;
      const { id } = (await res.json()) as { id: string };
      await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=30`, { headers: as(FILLER_KEY) });
    }
    const refused = answers.at(-1)!;
    expect(answers.slice(0, -1).every((res) => res.status === 202)).toBe(true);
    expect(answers.length - 1).toBeLessThanOrEqual(MAX_STORED / 40_000);
    expect(refused.status).toBe(507);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await refused.json()) as { type: string; detail: string };
    expect(problem.type).toBe('urn:sandq:problem:storage-quota-exceeded');
    expect(problem.detail).toContain('MAX_STORED_BYTES_PER_KEY');
    // A batch is refused whole, and another key keeps its own budget.
    expect((await fetch(`${svc.baseUrl}/v1/executions/batch`, { method: 'POST', headers: as(FILLER_KEY), body: JSON.stringify({ executions: [valid, padded(40_000)] }) })).status).toBe(507);
    expect((await submit(KEY, valid)).status).toBe(202);

    const counted = await storedBytes('filler');
    expect(counted).toBeGreaterThanOrEqual((answers.length - 1) * 40_000);
    expect(counted).toBeLessThanOrEqual(MAX_STORED);
  });

  it('counts results too: a job that prints a lot uses up its key\'s budget once it is final', async () => {
    const before = (await storedBytes('surface')) ?? 0;
    const res = await submit(KEY, { language: 'bash', code: "head -c 150000 /dev/zero | tr '\\0' a" });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=30`, { headers: as(KEY) })).json()) as { status: string };
    expect(done.status).toBe('succeeded');
    expect((await storedBytes('surface'))! - before).toBeGreaterThanOrEqual(150_000);
    expect((await submit(KEY, padded(60_000))).status).toBe(507);
  });
});

describe('queue fill: one key cannot keep more than MAX_QUEUED_PER_KEY executions waiting', () => {
  const OTHER_KEY = 'surface-other-key-0123456789';
  const as = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  let svc: TestService;
  let second: Awaited<ReturnType<typeof startService>>;
  let secondUrl: string;
  beforeAll(async () => {
    // The API alone: nothing starts the executions, so they stay queued.
    svc = await startTestService(
      { API_KEYS: `surface:${KEY},other:${OTHER_KEY}`, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, ADMIN_BOARD_WRITES: 'true', MAX_QUEUED_PER_KEY: '3', RATE_LIMIT_PER_MINUTE: '0', POOL_SIZE: '0' },
      'api',
    );
    // A second API instance on the same Redis: the cap is the deployment's, not the process's.
    second = await startService('api', svc.config, createLogger('silent'));
    secondUrl = `http://127.0.0.1:${second.api!.port}`;
  });
  afterAll(async () => {
    await second?.stop();
    await svc?.stop();
  });

  const submit = (baseUrl: string, key: string) => fetch(`${baseUrl}/v1/executions`, { method: 'POST', headers: as(key), body: JSON.stringify(valid) });

  it('answers 429 with Retry-After past the cap, on any instance, and admits again when one leaves the queue', async () => {
    const ids: string[] = [];
    for (const baseUrl of [svc.baseUrl, secondUrl, svc.baseUrl]) {
      const res = await submit(baseUrl, KEY);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const baseUrl of [svc.baseUrl, secondUrl]) {
      const refused = await submit(baseUrl, KEY);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      const problem = (await refused.json()) as { type: string; detail: string };
      expect(problem.type).toBe('urn:sandq:problem:too-many-queued-executions');
      expect(problem.detail).toContain('MAX_QUEUED_PER_KEY');
    }
    expect((await submit(svc.baseUrl, OTHER_KEY)).status).toBe(202);

    // Cancelled in the queue: its place is free.
    expect((await fetch(`${svc.baseUrl}/v1/executions/${ids[0]}`, { method: 'DELETE', headers: as(KEY) })).status).toBe(202);
    const next = await submit(secondUrl, KEY);
    expect(next.status).toBe(202);
    expect((await submit(svc.baseUrl, KEY)).status).toBe(429);

    // Removed behind the API's back (Bull Board): the stale entry is noticed at the cap.
    expect((await fetch(`${svc.baseUrl}/admin/queues/api/queues/executions/${ids[1]}/clean`, { method: 'PUT', headers: basic })).status).toBe(204);
    expect((await submit(svc.baseUrl, KEY)).status).toBe(202);
    expect((await submit(svc.baseUrl, KEY)).status).toBe(429);
  });

  it('refuses a batch that does not fit whole', async () => {
    const res = await fetch(`${svc.baseUrl}/v1/executions/batch`, { method: 'POST', headers: as(OTHER_KEY), body: JSON.stringify({ executions: [valid, valid, valid] }) });
    expect(res.status).toBe(429);
    const fits = await fetch(`${svc.baseUrl}/v1/executions/batch`, { method: 'POST', headers: as(OTHER_KEY), body: JSON.stringify({ executions: [valid, valid] }) });
    expect(fits.status).toBe(200);
  });
});
