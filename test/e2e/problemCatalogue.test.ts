import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError } from '../../src/api/answerClientError.js';
import { type RunningService, startService } from '../../src/cli/startCommand.js';
import { createLogger } from '../../src/shared/logger.js';
import { PROBLEM_CATALOGUE, type ProblemSlug, problemEntry } from '../../src/shared/problems/problemCatalogue.js';
import { renderProblemCatalogueMarkdown } from '../../src/shared/problems/renderProblemCatalogueMarkdown.js';
import { executionKeys } from '../../src/executions/executionKeys.js';
import { eventually } from '../helpers/eventually.js';
import { postJson, runExecution, startTestService, type TestService } from '../helpers/service.js';
import { freePort } from '../../src/shared/freePort.js';

const KEY = 'problems-key-0123456789abcdef';
const ADMIN = { user: 'ops', password: 'problems admin password' };
const bearer = { authorization: `Bearer ${KEY}` };
const valid = { language: 'bash', code: 'true' };
const RATE_LIMIT = 50;

/**
 * Kinds this file does not provoke, as their setups are heavy and another
 * test file has them already: that file must check the type.
 */
const PROVOKED_ELSEWHERE: Partial<Record<ProblemSlug, string>> = {
  'queue-full': 'test/e2e/backpressure.test.ts',
  'too-many-event-streams': 'test/integration/sseLimits.test.ts',
  'too-many-long-polls': 'test/e2e/security/apiSurface.test.ts',
  'too-many-queued-executions': 'test/e2e/security/apiSurface.test.ts',
  'storage-quota-exceeded': 'test/e2e/security/apiSurface.test.ts',
};

describe('the catalogue', () => {
  it('gives every kind a type, a slug and a title of its own, and a 4xx or 5xx status', () => {
    expect(PROBLEM_CATALOGUE.length).toBeGreaterThan(15);
    for (const field of ['type', 'slug', 'title'] as const) {
      const values = PROBLEM_CATALOGUE.map((kind) => kind[field]);
      expect(new Set(values).size, field).toBe(values.length);
    }
    for (const kind of PROBLEM_CATALOGUE) {
      expect(kind.type).toBe(`urn:sandq:problem:${kind.slug}`);
      expect(kind.slug).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(kind.status, kind.slug).toBeGreaterThanOrEqual(400);
      expect(kind.status, kind.slug).toBeLessThan(600);
      expect(kind.description.length, kind.slug).toBeGreaterThan(10);
    }
  });

  it('tells the two 503s and the four 429s apart', () => {
    const typesOf = (status: number) => PROBLEM_CATALOGUE.filter((kind) => kind.status === status).map((kind) => kind.slug);
    expect(typesOf(503).sort()).toEqual(['queue-full', 'redis-unavailable']);
    expect(typesOf(429).sort()).toEqual(['rate-limited', 'too-many-event-streams', 'too-many-long-polls', 'too-many-queued-executions']);
  });

  it('renders a markdown table with a row per kind', () => {
    const lines = renderProblemCatalogueMarkdown().trimEnd().split('\n');
    expect(lines[0]).toBe('| Type | Status | Title | When | Retry-After |');
    expect(lines).toHaveLength(PROBLEM_CATALOGUE.length + 2);
    for (const kind of PROBLEM_CATALOGUE) {
      const row = lines.find((line) => line.startsWith(`| \`${kind.type}\` |`));
      expect(row, kind.slug).toContain(`| ${kind.status} |`);
      expect(row, kind.slug).toMatch(kind.retryAfter ? /\| yes \|$/ : /\| no \|$/);
    }
  });

  it('has each kind it does not provoke here checked by type in the file named for it', () => {
    for (const [slug, file] of Object.entries(PROVOKED_ELSEWHERE)) {
      expect(readFileSync(path.resolve(import.meta.dirname, '../..', file), 'utf8'), file).toContain(`urn:sandq:problem:${slug}`);
    }
  });
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function answerOf(res: Response): Promise<Answer> {
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

/** Raw bytes on a socket, for requests no HTTP client sends; the answer is read until the server closes. */
function sendRaw(port: number, request: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => resolve(parseRaw(Buffer.concat(chunks).toString('utf8'))));
    socket.once('connect', () => socket.end(request));
  });
}

function parseRaw(reply: string): Answer {
  const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

const provoked = new Set<ProblemSlug>();

/** The answer is the catalogue's problem `slug`: its status, type, content type and (only where the kind has it) Retry-After. */
function expectProblem(answer: Answer, slug: ProblemSlug): { detail?: string; errors?: { path: string }[] } {
  const kind = problemEntry(slug);
  expect(answer.status, slug).toBe(kind.status);
  expect(answer.headers['content-type'], slug).toBe('application/problem+json');
  const problem = JSON.parse(answer.body) as { type: string; title: string; status: number; detail?: string; errors?: { path: string }[] };
  expect(problem).toMatchObject({ type: kind.type, title: kind.title, status: kind.status });
  if (kind.retryAfterSeconds === undefined) expect(answer.headers['retry-after'], slug).toBeUndefined();
  else expect(answer.headers['retry-after'], slug).toMatch(/^[1-9]\d*$/);
  provoked.add(slug);
  return problem;
}

describe('each problem, through the real service', () => {
  let svc: TestService;
  let port: number;
  let workerPort: number;
  let open: RunningService;
  beforeAll(async () => {
    workerPort = await freePort();
    svc = await startTestService({
      API_KEYS: `probe:${KEY}`,
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
      WORKER_METRICS_PORT: String(workerPort),
      MAX_REQUEST_BYTES: '8192',
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      POOL_SIZE: '1',
      POOL_RUNTIMES: 'bash',
      WORKER_CONCURRENCY: '1',
      LOG_LEVEL: 'debug',
    });
    port = Number(new URL(svc.baseUrl).port);
    // A second API without keys on the same Redis: only an open API looks at Host.
    open = await startService('api', { ...svc.config, API_KEYS: undefined, ADMIN_USER: undefined, ADMIN_PASSWORD: undefined }, createLogger('silent'));
  });
  afterAll(async () => {
    let t = Date.now();
    await open?.stop();
    console.log('open stop', Date.now() - t); t = Date.now();
    await svc?.service.api?.close?.();
    console.log('api stop', Date.now() - t); t = Date.now();
    await svc?.stop();
    console.log('svc stop', Date.now() - t);
  });

  const submit = (body: unknown, headers: Record<string, string> = {}) => postJson(svc.baseUrl, '/v1/executions', body, { ...bearer, ...headers });

  it('validation-error names the field', async () => {
    const problem = expectProblem(await answerOf(await submit({ language: 'cobol', code: 'x' })), 'validation-error');
    expect(problem.errors?.[0]?.path).toBe('language');
  });

  it('malformed-json', async () => {
    expectProblem(await answerOf(await submit('{"language":')), 'malformed-json');
  });

  it('malformed-request, for what is not HTTP at all', async () => {
    expectProblem(await sendRaw(port, 'NOT HTTP AT ALL\r\n\r\n'), 'malformed-request');
  });

  it('headers-too-large', async () => {
    expectProblem(await sendRaw(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), 'headers-too-large');
  });

  it('request-timeout, as answered on the socket of a request that did not arrive in time', async () => {
    // Node gives up on headers after a minute; the answer to its timeout error is what is checked here.
    const server = net.createServer((socket) => answerClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      expectProblem(await sendRaw((server.address() as net.AddressInfo).port, 'GET / HTTP/1.1\r\n'), 'request-timeout');
    } finally {
      server.close();
    }
  });

  it('unauthorized, on the API and on the worker metrics listener', async () => {
    const noKey = await answerOf(await fetch(`${svc.baseUrl}/v1/executions`));
    expectProblem(noKey, 'unauthorized');
    expect(noKey.headers['www-authenticate']).toBe('Bearer realm="sandq"');
    expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v1/executions`, { headers: { authorization: 'Bearer not-a-key' } })), 'unauthorized');
    expectProblem(await answerOf(await fetch(`${svc.baseUrl}/metrics`)), 'unauthorized');
    const worker = await answerOf(await fetch(`http://127.0.0.1:${workerPort}/metrics`));
    expectProblem(worker, 'unauthorized');
    expect(worker.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('not-found, for a route, an execution, and on the worker metrics listener', async () => {
    expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v2/nothing`, { headers: bearer })), 'not-found');
    expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v1/executions/ex_${'0'.repeat(32)}`, { headers: bearer })), 'not-found');
    expectProblem(await answerOf(await fetch(`http://127.0.0.1:${workerPort}/other`)), 'not-found');
  });

  it('method-not-allowed with Allow, on the API and on the worker metrics listener', async () => {
    const put = await answerOf(await fetch(`${svc.baseUrl}/v1/executions`, { method: 'PUT', headers: bearer }));
    expectProblem(put, 'method-not-allowed');
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    const batchPatch = await answerOf(await fetch(`${svc.baseUrl}/v1/executions/batch`, { method: 'PATCH', headers: bearer }));
    expectProblem(batchPatch, 'method-not-allowed');
    expect(batchPatch.headers.allow).toBe('POST');
    const worker = await answerOf(await fetch(`http://127.0.0.1:${workerPort}/metrics`, { method: 'POST' }));
    expectProblem(worker, 'method-not-allowed');
    expect(worker.headers.allow).toBe('GET, HEAD');
  });

  it('forbidden, for a Bull Board write while the board only shows the queues', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };
    const res = await fetch(`${svc.baseUrl}/admin/queues/api/queues/executions/pause`, { method: 'PUT', headers: basic });
    expectProblem(await answerOf(res), 'forbidden');
  });

  it('payload-too-large', async () => {
    expectProblem(await answerOf(await submit({ language: 'bash', code: 'x'.repeat(9000) })), 'payload-too-large');
  });

  it('unsupported-media-type', async () => {
    const res = await fetch(`${svc.baseUrl}/v1/executions`, { method: 'POST', headers: { ...bearer, 'content-type': 'text/plain' }, body: 'echo hi' });
    expectProblem(await answerOf(res), 'unsupported-media-type');
  });

  it('misdirected-request, from an API without keys', async () => {
    const answer = await sendRaw(open.api!.port, 'GET /v1/executions HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n');
    expect(expectProblem(answer, 'misdirected-request').errors?.[0]?.path).toBe('Host');
  });

  it('rate-limited, for a batch larger than the whole limit', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions/batch', { executions: Array.from({ length: RATE_LIMIT + 1 }, () => valid) }, bearer);
    expectProblem(await answerOf(res), 'rate-limited');
  });

  it('idempotency-key-reused, for the same key with another body', async () => {
    expect((await submit(valid, { 'idempotency-key': 'reused' })).status).toBe(202);
    const problem = expectProblem(await answerOf(await submit({ ...valid, code: 'false' }, { 'idempotency-key': 'reused' })), 'idempotency-key-reused');
    expect(problem.errors?.[0]?.path).toBe('Idempotency-Key');
  });

  it('idempotency-key-in-progress, while another request holds the key and its execution is not there yet', async () => {
    const first = (await (await submit(valid, { 'idempotency-key': 'racing' })).json()) as { id: string };
    const client = new Redis(svc.redis.url);
    // MONITOR on a socket of its own (ioredis's monitor mode can take its first lines for replies).
    const watcher = net.connect(svc.redis.port, '127.0.0.1');
    try {
      const holders = await Promise.all((await client.keys('*:idempotency:*')).map(async (name) => [name, await client.get(name)] as const));
      const [name, value] = holders.find(([, v]) => v?.endsWith(`:${first.id}`))!;
      const hash = value!.split(':')[0];
      // The key now names an execution still on its way (it never comes) ...
      const pending = `ex_${'a'.repeat(32)}`;
      await client.set(name, `${hash}:${pending}`);
      let monitoring!: () => void;
      const watching = new Promise<void>((resolve) => (monitoring = resolve));
      const lookedUp = new Promise<void>((resolve) => {
        let seen = '';
        watcher.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const lines = seen.split('\r\n');
          seen = lines.pop() ?? '';
          if (lines.includes('+OK')) monitoring();
          if (lines.some((line) => line.includes(pending) && !/\] "set" /i.test(line))) resolve();
        });
      });
      watcher.write('MONITOR\r\n');
      await watching;
      // ... and once the request is waiting for it, another request takes the key over.
      const replay = submit(valid, { 'idempotency-key': 'racing' });
      await lookedUp;
      await client.set(name, `${hash}:ex_${'b'.repeat(32)}`);
      expectProblem(await answerOf(await replay), 'idempotency-key-in-progress');
    } finally {
      watcher.destroy();
      client.disconnect();
    }
  });

  it('execution-already-finished, for cancelling an execution that has ended', async () => {
    const res = await submit(valid);
    const { id } = (await res.json()) as { id: string };
    const status = await eventually(async () => {
      const execution = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=5`, { headers: bearer })).json()) as { status: string };
      return execution.status !== 'queued' && execution.status !== 'running' && execution.status;
    }, 60_000);
    expect(status).toBe('succeeded');
    expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE', headers: bearer })), 'execution-already-finished');
  });

  it('internal-error, for a Redis answer nothing expects, without leaking it', async () => {
    const client = new Redis(svc.redis.url);
    const index = executionKeys(svc.config.QUEUE_PREFIX).index('probe');
    const saved = await client.dumpBuffer(index);
    try {
      await client.del(index);
      await client.set(index, 'not a sorted set');
      const problem = expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v1/executions`, { headers: bearer })), 'internal-error');
      expect(problem.detail).not.toMatch(/WRONGTYPE/i);
    } finally {
      await client.del(index);
      if (saved) await client.restore(index, 0, saved);
      client.disconnect();
    }
  });

  it('redis-unavailable, from /readyz and from /v1 while Redis is down', async () => {
    await svc.redis.stop();
    try {
      expectProblem(await answerOf(await fetch(`${svc.baseUrl}/readyz`)), 'redis-unavailable');
      expectProblem(await answerOf(await fetch(`${svc.baseUrl}/v1/executions`, { headers: bearer })), 'redis-unavailable');
    } finally {
      await svc.redis.resume();
    }
    // And the service is whole again once Redis is back: its worker takes and runs a job.
    let stdout: string | undefined;
    await eventually(async () => {
      stdout = (await runExecution(svc.baseUrl, { language: 'bash', code: 'echo back' }, bearer).catch(() => undefined))?.result?.stdout;
      return stdout !== undefined;
    }, 20_000, 'an execution run after Redis returned');
    expect(stdout).toBe('back\n');
  });

  it('leaves no kind unprovoked', () => {
    const missing = PROBLEM_CATALOGUE.map((kind) => kind.slug).filter((slug) => !provoked.has(slug) && !(slug in PROVOKED_ELSEWHERE));
    expect(missing).toEqual([]);
  });
});
