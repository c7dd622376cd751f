import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestService, type ExecutionJson, type TestService } from '../helpers/service.js';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({
    // Its own sandbox uids and work dirs, apart from test files that count theirs.
  });
});
afterAll(async () => {
  await svc?.stop();
});

interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

async function waitFinal(id: string): Promise<ExecutionJson> {
  for (;;) {
    const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=20`)).json()) as ExecutionJson;
    if (ex.status !== 'queued' && ex.status !== 'running') return ex;
  }
}

interface Page {
  items: ExecutionJson[];
  nextCursor: string | null;
}

async function list(query: string): Promise<Page> {
  const res = await fetch(`${svc.baseUrl}/v1/executions?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Every page of a listing, following nextCursor. */
async function listAll(query: string): Promise<{ items: ExecutionJson[]; pages: number }> {
  const items: ExecutionJson[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const page = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    pages++;
    cursor = page.nextCursor;
  } while (cursor && pages < 100);
  return { items, pages };
}

describe('Idempotency-Key', () => {
  const body = (run: string) => ({ language: 'bash', code: 'echo once', metadata: { run } });

  it('returns the same execution for the same key and body (200), and 409 for another body', async () => {
    const key = randomUUID();
    const run = randomUUID();
    const first = await postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const created = (await first.json()) as ExecutionJson;

    // Same body with its keys in another order is the same body.
    const { metadata, ...rest } = body(run);
    const replay = await postJson(svc.baseUrl, '/v1/executions', { metadata, ...rest }, { 'Idempotency-Key': key });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('location')).toBe(`/v1/executions/${created.id}`);
    expect(((await replay.json()) as ExecutionJson).id).toBe(created.id);

    const other = await postJson(svc.baseUrl, '/v1/executions', { ...body(run), code: 'echo twice' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(((await other.json()) as Problem).errors?.map((e) => e.path)).toEqual(['Idempotency-Key']);

    // A different key is a different execution.
    const fresh = await postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': randomUUID() });
    expect(fresh.status).toBe(202);
    expect(((await fresh.json()) as ExecutionJson).id).not.toBe(created.id);
  });

  it('creates one execution for concurrent identical requests', async () => {
    const key = randomUUID();
    const run = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': key })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as ExecutionJson).id)));
    expect(ids.size).toBe(1);
    const mine = (await listAll('limit=100')).items.filter((e) => e.metadata.run === run);
    expect(mine).toHaveLength(1);
    expect((await waitFinal([...ids][0]!)).result?.stdout).toBe('once\n');
  });

  it('creates a new execution when the key outlived the one it named (its result expired)', async () => {
    const key = randomUUID();
    const run = randomUUID();
    const first = (await (await postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': key })).json()) as ExecutionJson;
    await waitFinal(first.id);
    // What RESULT_TTL_MS does to a finished execution, sooner: its job is removed.
    const connection = new Redis(svc.redis.url);
    const queue = new Queue('executions', { connection, prefix: svc.config.QUEUE_PREFIX });
    await queue.remove(first.id);
    await queue.close();
    connection.disconnect();
    const again = await postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': key });
    expect(again.status).toBe(202);
    const second = (await again.json()) as ExecutionJson;
    expect(second.id).not.toBe(first.id);
    expect((await waitFinal(second.id)).result?.stdout).toBe('once\n');
    // And the key now names the new one.
    const replay = await postJson(svc.baseUrl, '/v1/executions', body(run), { 'Idempotency-Key': key });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as ExecutionJson).id).toBe(second.id);
  });

  it('refuses a malformed key, naming the header', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', body('x'), { 'Idempotency-Key': 'has spaces in it' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toEqual(['Idempotency-Key']);
  });
});

describe('batch', () => {
  it('answers each item in order and runs the valid ones', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions/batch', {
      executions: [
        { language: 'bash', code: 'echo zero' },
        { language: 'bash', code: 'echo one', limits: { timeoutMs: 10_000_000 } },
        { language: 'python', code: 'print("two")' },
        { language: 'cobol', code: 'x' },
        { language: 'bash', code: 'exit 4' },
      ],
    });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: (ExecutionJson | { error: Problem })[] };
    expect(items).toHaveLength(5);
    const ok = (i: number) => items[i] as ExecutionJson;
    const bad = (i: number) => (items[i] as { error: Problem }).error;

    expect(bad(1)).toMatchObject({ status: 400 });
    expect(bad(1).errors?.map((e) => e.path)).toEqual(['executions[1].limits.timeoutMs']);
    expect(bad(3).errors?.map((e) => e.path)).toEqual(['executions[3].language']);
    for (const i of [0, 2, 4]) expect(ok(i)).toMatchObject({ status: 'queued', id: expect.stringMatching(/^ex_/) });

    expect((await waitFinal(ok(0).id)).result?.stdout).toBe('zero\n');
    expect((await waitFinal(ok(2).id)).result?.stdout).toBe('two\n');
    expect(await waitFinal(ok(4).id)).toMatchObject({ status: 'failed', result: { exitCode: 4 } });
  });

  it('answers 200 with only errors when no item is valid', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions/batch', { executions: [{ language: 'bash' }] });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { error: Problem }[] };
    expect(items[0]!.error.errors?.map((e) => e.path)).toEqual(['executions[0].code']);
  });

  it.each([
    ['no executions', {}, 'executions'],
    ['an empty list', { executions: [] }, 'executions'],
    ['more than 100', { executions: Array.from({ length: 101 }, () => ({ language: 'bash', code: 'true' })) }, 'executions'],
    ['an unknown field', { executions: [{ language: 'bash', code: 'true' }], extra: 1 }, 'extra'],
  ])('refuses %s as a whole', async (_name, body, path) => {
    const res = await postJson(svc.baseUrl, '/v1/executions/batch', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toContain(path);
  });
});

describe('listing', () => {
  it('pages newest first through an opaque cursor, filtered by status', async () => {
    const run = randomUUID();
    const ids: string[] = [];
    for (const code of ['exit 0', 'exit 1', 'exit 0', 'exit 2', 'exit 0']) {
      const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code, metadata: { run } });
      ids.push(((await res.json()) as ExecutionJson).id);
      // Distinct creation times, so newest-first is one order (equal times order by id).
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    for (const id of ids) await waitFinal(id);

    const all = await listAll('limit=2');
    expect(all.pages).toBeGreaterThanOrEqual(3);
    const seen = all.items.map((e) => e.id);
    expect(new Set(seen).size).toBe(seen.length);
    const mine = all.items.filter((e) => e.metadata.run === run).map((e) => e.id);
    expect(mine).toEqual([...ids].reverse());
    const created = all.items.map((e) => Date.parse((e as unknown as { createdAt: string }).createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    const failed = await listAll('status=failed&limit=1');
    expect(failed.items.every((e) => e.status === 'failed')).toBe(true);
    expect(failed.items.filter((e) => e.metadata.run === run).map((e) => e.id)).toEqual([ids[3], ids[1]]);
    const succeeded = (await listAll('status=succeeded&limit=100')).items.filter((e) => e.metadata.run === run);
    expect(succeeded.map((e) => e.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list('status=running')).items).toEqual([]);
  });

  it('defaults to 20 items and ends with a null cursor', async () => {
    const page = await list('');
    expect(page.items.length).toBeLessThanOrEqual(20);
    const last = await listAll('limit=100');
    expect(last.pages).toBe(1);
  });

  it.each([
    ['status=done', 'status'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['cursor=bm9wZQ', 'cursor'],
  ])('refuses %s naming the parameter', async (query, path) => {
    const res = await fetch(`${svc.baseUrl}/v1/executions?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toContain(path);
  });
});
