import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServerProcess } from '../../../src/cli/RedisServerProcess.js';
import { type SandqProcess, startSandqProcess, stopSandqProcess } from '../../helpers/processes.js';
import { startTestRedis } from '../../helpers/redis.js';

// 10,000 malformed or random requests at an API process (no worker: nothing runs),
// from a seeded generator so that a failure can be replayed with FUZZ_SEED.
const SEED = Number(process.env.FUZZ_SEED ?? 20240917);
const REQUESTS = 10_000;
const RAW_REQUESTS = 400;
const CONCURRENCY = 24;
const MAX_REQUEST_BYTES = 65_536;
const KEY = 'fuzz-key-0123456789abcdef';
const ADMIN = 'ops:fuzz admin password';

let redis: RedisServerProcess;
let apiProc: SandqProcess;
let host: string;
let port: number;

beforeAll(async () => {
  redis = await startTestRedis();
  apiProc = await startSandqProcess('api', {
    REDIS_URL: redis.url,
    API_KEYS: `fuzzer:${KEY}`,
    ADMIN_USER: ADMIN.split(':')[0]!,
    ADMIN_PASSWORD: ADMIN.split(':')[1]!,
    MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
  });
  const url = new URL(apiProc.baseUrl!);
  host = url.hostname;
  port = Number(url.port);
}, 60_000);

afterAll(async () => {
  if (apiProc) await stopSandqProcess(apiProc);
  await redis?.destroy();
});

/** mulberry32: small, seeded, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}

const rnd = prng(SEED);
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rnd.int(16)]).join('');
const visible = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x21 + rnd.int(94))).join('');
const unicode = () => rnd.pick(['é', '漢字', '🙂', '\u0000', '\u202e', '\uffff', '\ud800', 'Ω', '\n', '"', '\\']);

function randomString(): string {
  switch (rnd.int(6)) {
    case 0: return '';
    case 1: return visible(rnd.int(40));
    case 2: return unicode().repeat(1 + rnd.int(5));
    case 3: return 'x'.repeat(rnd.int(5000));
    case 4: return rnd.pick(['python', 'bash', 'javascript', 'typescript', 'cobol', '../etc/passwd', '/abs', 'a/../../b', 'main.py', '.sandq/x', '*', '**/*']);
    default: return String(rnd.int(1e9));
  }
}

function randomJson(depth = 0): unknown {
  const kind = depth > 4 ? rnd.int(5) : rnd.int(8);
  switch (kind) {
    case 0: return null;
    case 1: return rnd.chance(0.5);
    case 2: return rnd.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 60001, 10, 11, 1, 16, 9_999_999_999]);
    case 3:
    case 4: return randomString();
    case 5: return Array.from({ length: rnd.int(5) }, () => randomJson(depth + 1));
    default: return Object.fromEntries(Array.from({ length: rnd.int(6) }, () => [rnd.chance(0.3) ? rnd.pick(FIELDS) : randomString().slice(0, 20), randomJson(depth + 1)]));
  }
}

const FIELDS = ['language', 'code', 'stdin', 'args', 'env', 'files', 'artifacts', 'limits', 'provider', 'webhook', 'priority', 'metadata', '__proto__', 'constructor', 'executions'];
const VALID = { language: 'bash', code: 'echo hi', limits: { timeoutMs: 1000, memoryMb: 64 }, files: [{ path: 'a.txt', content: 'x' }], env: { A: 'b' }, metadata: { k: 'v' } };

/** A valid request with a few of its fields replaced, removed or added. */
function mutatedRequest(): unknown {
  const body: Record<string, unknown> = structuredClone(VALID);
  for (let i = rnd.int(4); i > 0; i--) {
    const field = rnd.pick(FIELDS);
    if (rnd.chance(0.3)) delete body[field];
    else body[field] = randomJson(1);
  }
  if (rnd.chance(0.2)) body.limits = { ...VALID.limits, [rnd.pick(['timeoutMs', 'memoryMb', 'maxProcesses', 'maxOutputBytes', 'network', 'cpus'])]: randomJson(3) };
  if (rnd.chance(0.2)) body.files = [{ path: randomString(), content: randomString(), encoding: rnd.pick(['utf8', 'base64', 'hex', 1]) }];
  return body;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function randomPath(): string {
  const id = rnd.chance(0.5) ? `ex_${hex(32)}` : rnd.pick(['ex_', 'ex_zz', '..', '%2e%2e', '%', '%zz', '%00', '%ff', 'x'.repeat(2000), '%C3%A9', '%F0%9F%99%82', ';', '*', 'ex_' + hex(31)]);
  const base = rnd.pick([
    '/', '/v1', '/v1/executions', '/v1/executions/batch', `/v1/executions/${id}`, `/v1/executions/${id}/events`, '/v1/languages',
    '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/', `/docs/${id}`, '/docs/swagger-ui.css', '/docs/%2e%2e/%2e%2e/package.json',
    '/admin/queues', '/admin/queues/api/queues', `/v1/executions/${id}/${id}`, `//v1//executions//`, `/${visible(8).replace(/[?#]/g, '')}`,
  ]);
  let path = base;
  if (rnd.chance(0.1)) path += `/${rnd.pick(['..', '.', '%2F', '%5C', 'x'])}`;
  if (rnd.chance(0.6)) {
    const pairs = Array.from({ length: 1 + rnd.int(4) }, () => {
      const key = rnd.pick(['wait', 'limit', 'cursor', 'status', '__proto__', 'wait[]', 'x', '']);
      const value = rnd.pick(['', '0', '1', '-1', '60', '61', '1e9', 'NaN', 'abc', '%', '%zz', hex(20), Buffer.from(visible(20)).toString('base64url'), 'succeeded', 'running,failed']);
      return `${key}=${value}`;
    });
    path += `?${pairs.join('&')}`;
  }
  // What node's client refuses to send (spaces, control characters, non-ASCII) is sent escaped.
  return path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

function randomRequest(): FuzzRequest {
  const method = rnd.pick(['GET', 'GET', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO']);
  const headers: Record<string, string> = {};
  const auth = rnd.int(8);
  if (auth <= 2) headers.authorization = `Bearer ${KEY}`;
  else if (auth === 3) headers.authorization = `Bearer ${visible(rnd.int(60))}`;
  else if (auth === 4) headers.authorization = rnd.pick(['Bearer', 'Basic', 'Basic !!!', `Basic ${Buffer.from(ADMIN).toString('base64')}`, 'Token x', `bearer   ${KEY}  `, 'x'.repeat(8000)]);
  if (rnd.chance(0.7)) headers['content-type'] = rnd.pick(['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/problem+json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*', 'application/']);
  if (rnd.chance(0.15)) headers['idempotency-key'] = rnd.chance(0.8) ? visible(1 + rnd.int(40)) : visible(300);
  if (rnd.chance(0.1)) headers['last-event-id'] = rnd.pick(['0-0', '1-1', visible(10), '99999999999999-0']);
  if (rnd.chance(0.1)) headers.accept = rnd.pick(['text/event-stream', 'application/json', '*/*', 'text/html']);
  if (rnd.chance(0.05)) headers[visible(5).toLowerCase().replace(/[^a-z]/g, 'x')] = visible(20);

  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && rnd.chance(0.9)) {
    switch (rnd.int(9)) {
      case 0:
      case 1:
      case 2: body = Buffer.from(JSON.stringify(mutatedRequest())); break;
      case 3: body = Buffer.from(JSON.stringify(rnd.chance(0.5) ? { executions: Array.from({ length: rnd.int(4) }, mutatedRequest) } : { executions: randomJson(1) })); break;
      case 4: body = Buffer.from(JSON.stringify(randomJson())); break;
      case 5: body = Buffer.from(JSON.stringify(mutatedRequest()).slice(0, rnd.int(60))); break;
      case 6: body = Buffer.from(Array.from({ length: rnd.int(300) }, () => rnd.int(256))); break;
      case 7: body = Buffer.from(rnd.pick(['[', '{"a":', 'nul', '1e999999', '"\\ud800"', '['.repeat(20_000), '{"language":"bash","code":"x","code":"y"}', ''])); break;
      default: body = Buffer.from(JSON.stringify({ ...VALID, stdin: 'x'.repeat(MAX_REQUEST_BYTES + rnd.int(1000)) }));
    }
    if (rnd.chance(0.05)) {
      headers['content-encoding'] = rnd.pick(['gzip', 'deflate', 'br', 'identity', 'bogus']);
      if (headers['content-encoding'] === 'gzip' && rnd.chance(0.5)) body = gzipSync(body);
    }
  }
  // Framed as a client frames it: node sends DELETE, OPTIONS and TRACE bodies unframed unless told the length.
  if (body) headers['content-length'] = String(body.length);
  return { method, path: randomPath(), headers, body };
}

/** A well-formed submission of a mutated request, so that the fuzz also reaches validation and the queue. */
function nearlyValidRequest(): FuzzRequest {
  const batch = rnd.chance(0.3);
  const payload = batch ? { executions: Array.from({ length: 1 + rnd.int(3) }, mutatedRequest) } : mutatedRequest();
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': String(body.length) };
  if (!batch && rnd.chance(0.3)) headers['idempotency-key'] = visible(1 + rnd.int(8));
  return { method: 'POST', path: batch ? '/v1/executions/batch' : '/v1/executions', headers, body };
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One request on a connection of its own; resolves at the answer (an event stream is cut after its headers). */
function send(request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: request.method, path: request.path, headers: request.headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error('no answer within 10 s')), 10_000);
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.once('response', (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      if (contentType.startsWith('text/event-stream')) {
        clearTimeout(timer);
        res.destroy();
        return resolve({ status: res.statusCode ?? 0, contentType, body: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.once('error', reject);
    });
    req.end(request.body);
  });
}

/** Bytes that are not valid HTTP/1.1, on a raw socket; resolves with what came back. */
function sendRaw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', done);
    socket.on('error', () => {});
    socket.on('connect', () => socket.end(bytes));
  });
}

function rawRequest(): Buffer {
  const target = rnd.pick(['/v1/executions', '/healthz', '/', '*', 'http://x/', '/v1/executions/batch']);
  const lines = rnd.pick([
    () => [`${rnd.pick(['GET', 'POST', 'BREW', 'G\u0000T', 'get', ''])} ${target} HTTP/1.1`, 'Host: x'],
    () => [`GET ${target} HTTP/${rnd.pick(['0.9', '2.0', '1.x', '9.9', ''])}`, 'Host: x'],
    () => ['POST /v1/executions HTTP/1.1', 'Host: x', 'Content-Length: -1'],
    () => ['POST /v1/executions HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Content-Length: 6', '', 'hello'],
    () => ['POST /v1/executions HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 3', '', '0', ''],
    () => ['POST /v1/executions HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', '', `${rnd.pick(['zz', '-1', 'ffffffffffffffffff', '1;'])}`, 'x', '0', ''],
    () => ['GET /healthz HTTP/1.1', 'Host: x', `${rnd.pick(['Bad Header', ':nothing', 'X-\u0001: y', 'NoColon'])}${rnd.chance(0.5) ? ': v' : ''}`],
    () => ['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`],
    () => ['PRI * HTTP/2.0', '', 'SM'],
    () => [Buffer.from(Array.from({ length: 1 + rnd.int(200) }, () => rnd.int(256))).toString('latin1')],
    () => ['GET /healthz HTTP/1.1', 'Host: x', 'Connection: close'],
  ])();
  return Buffer.from(`${lines.join(rnd.chance(0.8) ? '\r\n' : '\n')}\r\n\r\n`, 'latin1');
}

describe('random and malformed requests', () => {
  it(`answers ${REQUESTS} requests and ${RAW_REQUESTS} unparseable ones without a 5xx, every error as problem+json, and stays up`, async () => {
    const started = performance.now();
    const byStatus = new Map<number, number>();
    const failures: string[] = [];
    let unanswered = 0;
    let unansweredOversize = 0;
    let next = 0;
    const requests = Array.from({ length: REQUESTS }, () => (rnd.chance(0.15) ? nearlyValidRequest() : randomRequest()));

    async function lane(): Promise<void> {
      while (next < requests.length) {
        const request = requests[next++]!;
        let answer: Answer;
        try {
          answer = await send(request);
        } catch (error) {
          // A body over the limit may be cut off by the 413 before it is all sent.
          if ((request.body?.length ?? 0) > MAX_REQUEST_BYTES) unansweredOversize++;
          else {
            unanswered++;
            failures.push(`${request.method} ${request.path.slice(0, 120)}: no answer (${(error as Error).message})`);
          }
          continue;
        }
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        const where = `${request.method} ${request.path.slice(0, 120)} -> ${answer.status}`;
        if (answer.status >= 500) failures.push(`${where}: ${answer.body.slice(0, 200)}`);
        if (answer.status >= 400) {
          if (!answer.contentType.startsWith('application/problem+json')) failures.push(`${where}: content-type ${answer.contentType}`);
          else if (request.method !== 'HEAD') {
            try {
              const problem = JSON.parse(answer.body) as { status: number; title: string };
              if (problem.status !== answer.status || !problem.title) failures.push(`${where}: problem ${answer.body.slice(0, 200)}`);
            } catch {
              failures.push(`${where}: not JSON: ${answer.body.slice(0, 200)}`);
            }
          }
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));

    const rawStatus = new Map<string, number>();
    for (let i = 0; i < RAW_REQUESTS; i++) {
      const reply = await sendRaw(rawRequest());
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 'none';
      rawStatus.set(status, (rawStatus.get(status) ?? 0) + 1);
      if (status === 'none') failures.push(`raw request ${i}: closed without an answer`);
      else if (Number(status) >= 500) failures.push(`raw request ${i}: ${status}`);
      else if (Number(status) >= 400 && !/\r\nContent-Type: application\/problem\+json/i.test(reply)) failures.push(`raw request ${i}: ${reply.slice(0, 200)}`);
    }
    const seconds = (performance.now() - started) / 1000;

    const health = await fetch(`http://${host}:${port}/healthz`);
    const errorLogs = apiProc.output().split('\n').filter((line) => line.includes('"level":50') || line.includes('"level":60'));
    const classes = (map: Map<number | string, number>) =>
      JSON.stringify(Object.fromEntries([...map].sort(([a], [b]) => String(a).localeCompare(String(b)))));
    console.log(
      `[fault] fuzz (seed ${SEED}): ${REQUESTS} requests + ${RAW_REQUESTS} raw in ${seconds.toFixed(1)} s; statuses ${classes(byStatus)}; ` +
        `raw ${classes(rawStatus)}; 5xx=${[...byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0)}; ` +
        `unanswered=${unanswered} (+${unansweredOversize} cut off while sending an oversized body); error logs=${errorLogs.length}; ` +
        `process alive=${apiProc.child.exitCode === null}`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(apiProc.child.exitCode).toBeNull();
    expect(health.status).toBe(200);
    expect(errorLogs).toEqual([]);
    // The fuzz reached the routes, not only the front door.
    expect(byStatus.get(202) ?? 0).toBeGreaterThan(0);
    expect(byStatus.get(400) ?? 0).toBeGreaterThan(1000);
    expect(byStatus.get(401) ?? 0).toBeGreaterThan(100);
    expect(byStatus.get(404) ?? 0).toBeGreaterThan(100);
  }, 120_000);
});
