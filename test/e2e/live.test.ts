import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { postJson, startTestService, type ExecutionJson, type TestService } from '../helpers/service.js';
import { SseClient, type SseEvent } from '../helpers/sse.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({
    SSE_HEARTBEAT_MS: '400',
    // Its own sandbox uids and work dirs, apart from test files that count theirs.
  });
});
afterAll(async () => {
  await svc?.stop();
});

async function submit(request: Record<string, unknown>): Promise<string> {
  const res = await postJson(svc.baseUrl, '/v1/executions', request);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function get(id: string, baseUrl = svc.baseUrl): Promise<ExecutionJson> {
  return (await (await fetch(`${baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
}

async function waitFinal(id: string): Promise<ExecutionJson> {
  for (;;) {
    const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=20`)).json()) as ExecutionJson;
    if (ex.status !== 'queued' && ex.status !== 'running') return ex;
  }
}

const running = (id: string) => eventually(async () => (await get(id)).status === 'running', 20_000, `${id} to run`);
const cancel = (id: string, baseUrl = svc.baseUrl) => fetch(`${baseUrl}/v1/executions/${id}`, { method: 'DELETE' });
const events = (id: string, headers?: Record<string, string>) => SseClient.connect(`${svc.baseUrl}/v1/executions/${id}/events`, headers);
const text = (client: SseClient, stream: 'stdout' | 'stderr') =>
  client.named(stream).map((e) => (JSON.parse(e.data) as { text: string }).text).join('');

/**
 * Waits for the chunk at which the stream's output (cut wherever the
 * program's writes were) first starts with `expected`; returns it with the
 * output up to and including it.
 */
async function outputReaches(client: SseClient, stream: 'stdout' | 'stderr', expected: string) {
  const upTo = (event: SseEvent) => {
    const chunks = client.named(stream);
    return chunks.slice(0, chunks.indexOf(event) + 1).map((e) => (JSON.parse(e.data) as { text: string }).text).join('');
  };
  const event = await client.waitFor((e) => e.event === stream && upTo(e).startsWith(expected));
  return { event, seen: upTo(event) };
}

describe('live output over SSE', () => {
  it('delivers a line the program prints while it is still running, then done', async () => {
    const id = await submit({ language: 'python', code: 'import sys, time\nprint("first", flush=True)\nprint("oops", file=sys.stderr, flush=True)\ntime.sleep(3)\nprint("second")' });
    const client = await events(id);
    expect(client.response.headers.get('content-type')).toContain('text/event-stream');

    const { event: first } = await outputReaches(client, 'stdout', 'first\n');
    expect(first.id).toMatch(/^\d+-\d+$/);
    // The program sleeps 3 s after that line: it must still be running now.
    expect((await get(id)).status).toBe('running');
    expect(client.named('done')).toHaveLength(0);

    const done = await client.waitFor((e) => e.event === 'done');
    await client.ended;
    const execution = JSON.parse(done.data) as ExecutionJson;
    expect(execution).toMatchObject({ id, status: 'succeeded' });
    expect(execution.result?.stdout).toBe('first\nsecond\n');
    expect(text(client, 'stdout')).toBe('first\nsecond\n');
    expect(text(client, 'stderr')).toBe('oops\n');
    expect(done.at - first.at).toBeGreaterThan(2000);
    const statuses = client.named('status').map((e) => (JSON.parse(e.data) as { status: string }).status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
    expect(client.named().at(-1)?.event).toBe('done');
  });

  it('sends a heartbeat comment while nothing happens', async () => {
    const id = await submit({ language: 'bash', code: 'sleep 2' });
    const client = await events(id);
    await client.waitFor((e) => e.event === '(comment)' && e.data === 'heartbeat', 5000);
    client.close();
    await cancel(id);
  });

  it('gives a client that comes after the end done at once', async () => {
    const id = await submit({ language: 'bash', code: 'echo over' });
    await waitFinal(id);
    const started = Date.now();
    const client = await events(id);
    await client.ended;
    // Ended by the stored result, not by a heartbeat or a timeout.
    expect(Date.now() - started).toBeLessThan(svc.config.SSE_HEARTBEAT_MS);
    expect(client.named().map((e) => e.event)).toEqual(['status', 'done']);
    expect(JSON.parse(client.named('done')[0]!.data)).toMatchObject({ id, status: 'succeeded', result: { stdout: 'over\n' } });
  });

  it('resumes after Last-Event-ID without repeating what was seen', async () => {
    const id = await submit({ language: 'bash', code: 'echo a; sleep 0.5; echo b; sleep 0.5; echo c' });
    const first = await events(id);
    const { event: a, seen } = await outputReaches(first, 'stdout', 'a\n');
    first.close();

    const resumed = await events(id, { 'Last-Event-ID': a.id! });
    await resumed.waitFor((e) => e.event === 'done');
    // Exactly what came after the last chunk seen (normally "b\nc\n"): nothing repeated, nothing lost.
    expect(text(resumed, 'stdout')).toBe('a\nb\nc\n'.slice(seen.length));
  });

  it('answers 404 for an unknown execution', async () => {
    for (const id of ['ex_00000000000000000000000000000000', 'nope']) {
      const res = await fetch(`${svc.baseUrl}/v1/executions/${id}/events`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});

/** A second API instance in another process, against the same Redis: it has no worker. */
async function startApiProcess(): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', 'start', 'api'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: svc.redis.url, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API process did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      const match = output.match(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the API process exited (${code}):\n${output}`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, child };
}

describe('cancel', () => {
  it('kills a running execution at once when the DELETE comes through another process', async () => {
    const other = await startApiProcess();
    try {
      const id = await submit({ language: 'bash', code: 'echo started; sleep 30', limits: { timeoutMs: 60_000 } });
      const client = await events(id);
      await client.waitFor((e) => e.event === 'stdout');
      expect(other.child.pid).not.toBe(process.pid);

      const asked = Date.now();
      const res = await cancel(id, other.baseUrl);
      expect(res.status).toBe(202);
      expect(((await res.json()) as ExecutionJson).id).toBe(id);
      const ex = await waitFinal(id);
      expect(ex.status).toBe('cancelled');
      // Far sooner than the 30 s the job would still sleep: the cancel reached the worker.
      expect(Date.parse(ex.finishedAt!) - asked).toBeLessThan(10_000);
      expect(ex.result?.stdout).toBe('started\n');
      await client.ended;
      expect(client.named().at(-1)?.event).toBe('done');
      expect(JSON.parse(client.named('done')[0]!.data)).toMatchObject({ status: 'cancelled' });
    } finally {
      other.child.kill('SIGKILL');
    }
  });

  it('never runs a queued execution that was cancelled', async () => {
    // Both worker slots (WORKER_CONCURRENCY 2) busy, so the next one waits in the queue.
    const blockers = [await submit({ language: 'bash', code: 'sleep 30' }), await submit({ language: 'bash', code: 'sleep 30' })];
    for (const id of blockers) await running(id);
    const id = await submit({ language: 'bash', code: 'echo ran' });
    const client = await events(id);
    expect((await get(id)).status).toBe('queued');

    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(((await res.json()) as ExecutionJson).status).toBe('cancelled');
    await client.ended;
    expect(client.named().map((e) => e.event)).toEqual(['status', 'status', 'done']);
    expect(client.named('status').map((e) => JSON.parse(e.data).status)).toEqual(['queued', 'cancelled']);

    // Free the worker and let it take more jobs: the cancelled one must stay untouched.
    for (const blocker of blockers) expect((await cancel(blocker)).status).toBe(202);
    const after = await submit({ language: 'bash', code: 'echo after' });
    expect((await waitFinal(after)).status).toBe('succeeded');
    const ex = await get(id);
    expect(ex).toMatchObject({ status: 'cancelled', startedAt: null, result: null, attempts: 0 });
    expect(ex.finishedAt).not.toBeNull();
    for (const blocker of blockers) expect((await waitFinal(blocker)).status).toBe('cancelled');
  });

  it('answers 200 to a second cancel and 409 for a finished execution', async () => {
    const id = await submit({ language: 'bash', code: 'sleep 30' });
    expect((await cancel(id)).status).toBe(202);
    await waitFinal(id);
    const again = await cancel(id);
    expect(again.status).toBe(200);
    expect(((await again.json()) as ExecutionJson).status).toBe('cancelled');

    const done = await submit({ language: 'bash', code: 'true' });
    await waitFinal(done);
    const res = await cancel(done);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await get(done)).status).toBe('succeeded');

    expect((await cancel('ex_00000000000000000000000000000000')).status).toBe(404);
  });
});
