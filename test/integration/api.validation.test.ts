import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_COMMAND_TIMEOUT_MS } from '../../src/shared/redis.js';
import { postJson, startTestService, type TestService } from '../helpers/service.js';

// The API alone: validation never reaches a worker.
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MAX_REQUEST_BYTES: '65536', TIMEOUT_MS_MAX: '30000' }, 'api');
});
afterAll(async () => {
  await svc?.stop();
});

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** A problem of this status and, when given, this type (`urn:sandq:problem:<slug>`). */
async function expectProblem(res: Response, status: number, slug?: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await res.json()) as Problem;
  expect(problem.status).toBe(status);
  expect(problem.title).toBeTruthy();
  if (slug !== undefined) expect(problem.type).toBe(`urn:sandq:problem:${slug}`);
  return problem;
}

const valid = { language: 'python', code: 'print(1)' };

const malformed: [string, unknown, string][] = [
  ['missing language', { code: 'x' }, 'language'],
  ['unknown language', { language: 'cobol', code: 'x' }, 'language'],
  ['missing code', { language: 'python' }, 'code'],
  ['empty code', { language: 'python', code: '' }, 'code'],
  ['code not a string', { language: 'python', code: 42 }, 'code'],
  ['unknown top-level field', { ...valid, colour: 'red' }, 'colour'],
  ['unknown limits field', { ...valid, limits: { cpus: 4 } }, 'limits.cpus'],
  ['timeout above the maximum', { ...valid, limits: { timeoutMs: 30001 } }, 'limits.timeoutMs'],
  ['negative memory', { ...valid, limits: { memoryMb: -1 } }, 'limits.memoryMb'],
  ['fractional processes', { ...valid, limits: { maxProcesses: 1.5 } }, 'limits.maxProcesses'],
  ['network not enabled', { ...valid, limits: { network: true } }, 'limits.network'],
  ['absolute file path', { ...valid, files: [{ path: '/etc/passwd', content: '' }] }, 'files[0].path'],
  ['file path with ..', { ...valid, files: [{ path: 'a/../../x', content: '' }] }, 'files[0].path'],
  ['duplicate file paths', { ...valid, files: [{ path: 'a.txt', content: '' }, { path: 'a.txt', content: '' }] }, 'files[1].path'],
  ['file under another file', { ...valid, files: [{ path: 'a', content: '' }, { path: 'a/b', content: '' }] }, 'files[1].path'],
  ['file named like the program', { ...valid, files: [{ path: 'main.py', content: '' }] }, 'files[0].path'],
  ['invalid base64', { ...valid, files: [{ path: 'a', content: '!!', encoding: 'base64' }] }, 'files[0].content'],
  ['unknown encoding', { ...valid, files: [{ path: 'a', content: '', encoding: 'hex' }] }, 'files[0].encoding'],
  ['bad env name', { ...valid, env: { 'BAD-NAME': 'x' } }, 'env.BAD-NAME'],
  ['env value not a string', { ...valid, env: { A: 1 } }, 'env.A'],
  ['arg not a string', { ...valid, args: ['ok', 2] }, 'args[1]'],
  ['arg with NUL', { ...valid, args: ['a\u0000b'] }, 'args[0]'],
  ['priority out of range', { ...valid, priority: 11 }, 'priority'],
  ['stdin not a string', { ...valid, stdin: ['x'] }, 'stdin'],
  ['unknown provider', { ...valid, provider: 'mars' }, 'provider'],
  ['metadata value not a string', { ...valid, metadata: { n: 1 } }, 'metadata.n'],
  ['absolute artifact pattern', { ...valid, artifacts: ['/etc/*'] }, 'artifacts[0]'],
  ['artifact pattern with ..', { ...valid, artifacts: ['../*'] }, 'artifacts[0]'],
  ['webhook without WEBHOOK_SECRET', { ...valid, webhook: { url: 'https://example.com/hook' } }, 'webhook'],
  ['webhook with an unknown field', { ...valid, webhook: { url: 'https://example.com/hook', secret: 'x' } }, 'webhook.secret'],
  ['body is an array', [valid], '(body)'],
  ['body is null', null, '(body)'],
];

describe('POST /v1/executions rejects malformed bodies with problem+json naming the field', () => {
  it.each(malformed)('%s', async (_name, body, path) => {
    const problem = await expectProblem(await postJson(svc.baseUrl, '/v1/executions', body), 400, 'validation-error');
    expect(problem.errors?.map((e) => e.path)).toContain(path);
    expect(problem.detail).toContain(path);
  });

  it('rejects JSON that does not parse', async () => {
    const problem = await expectProblem(await postJson(svc.baseUrl, '/v1/executions', '{"language": "python",'), 400, 'malformed-json');
    expect(problem.errors?.[0]?.path).toBe('(body)');
  });

  it('rejects a body that is not JSON with 415', async () => {
    const res = await fetch(`${svc.baseUrl}/v1/executions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'print(1)' });
    await expectProblem(res, 415, 'unsupported-media-type');
  });

  it('rejects an oversized body with 413', async () => {
    const problem = await expectProblem(await postJson(svc.baseUrl, '/v1/executions', { ...valid, stdin: 'x'.repeat(70_000) }), 413, 'payload-too-large');
    expect(problem.detail).toContain('65536');
  });

  it('accepts a valid body with 202 and a Location', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { ...valid, limits: { timeoutMs: 30000 } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string };
    expect(body.status).toBe('queued');
    expect(res.headers.get('location')).toBe(`/v1/executions/${body.id}`);
    const read = (await (await fetch(`${svc.baseUrl}/v1/executions/${body.id}`)).json()) as { id: string; status: string };
    expect(read).toMatchObject({ id: body.id, status: 'queued' });
  });
});

describe('GET /v1/executions/{id}', () => {
  it('answers 404 for an unknown id', async () => {
    const problem = await expectProblem(await fetch(`${svc.baseUrl}/v1/executions/ex_${'0'.repeat(32)}`), 404);
    expect(problem.detail).toContain('ex_');
  });

  it('answers 404 for an id that cannot exist', async () => {
    await expectProblem(await fetch(`${svc.baseUrl}/v1/executions/..%2F..%2Fetc`), 404);
  });

  it.each(['abc', '61', '-1'])('rejects wait=%s', async (wait) => {
    const res = await postJson(svc.baseUrl, '/v1/executions', valid);
    const { id } = (await res.json()) as { id: string };
    const problem = await expectProblem(await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=${wait}`), 400);
    expect(problem.errors?.[0]?.path).toBe('wait');
  });
});

describe('other routes', () => {
  it('answers unknown routes with a 404 problem', async () => {
    await expectProblem(await fetch(`${svc.baseUrl}/v2/nothing`), 404, 'not-found');
  });

  it('is healthy and ready while Redis is up', async () => {
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('is not ready, quickly, while Redis is down', async () => {
    await svc.redis.stop();
    try {
      const started = Date.now();
      await expectProblem(await fetch(`${svc.baseUrl}/readyz`), 503, 'redis-unavailable');
      const submit = await postJson(svc.baseUrl, '/v1/executions', valid);
      await expectProblem(submit, 503, 'redis-unavailable');
      // Each answer is bounded by the command timeout, not by Redis coming back; the margin is for a loaded host.
      expect(Date.now() - started).toBeLessThan(10 * API_COMMAND_TIMEOUT_MS);
      expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await svc.redis.resume();
    }
  });
});
