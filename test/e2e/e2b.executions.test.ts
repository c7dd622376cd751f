import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { WorkerRole } from '../../src/worker/WorkerRole.js';
import { FakeE2B } from '../fakes/FakeE2B.js';
import { startE2BTestService } from '../helpers/e2bService.js';
import { eventually } from '../helpers/eventually.js';
import { postJson, runExecution, startTestService, type ExecutionJson, type TestService } from '../helpers/service.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';
import { SseClient } from '../helpers/sse.js';

// One service with both providers: local (the default) and e2b against a fake E2B that
// really runs the commands. The same contract tests run on each, chosen per request.
let fake: FakeE2B;
let svc: TestService;
const CANARY = 'canary-secret-9a8b7c';

beforeAll(async () => {
  process.env.SANDQ_TEST_CANARY = CANARY;
  fake = await FakeE2B.start();
  svc = await startE2BTestService(fake, {
  });
});
afterAll(async () => {
  await svc?.stop();
  await fake?.close();
  delete process.env.SANDQ_TEST_CANARY;
});

type Result = NonNullable<ExecutionJson['result']> & { artifacts: { path: string; size: number; encoding: string; content: string }[] };

describe.each(['local', 'e2b'] as const)('the execution contract on %s', (provider) => {
  const run = async (request: Record<string, unknown>) => {
    const creates = fake.creates.length;
    const ex = await runExecution(svc.baseUrl, { ...request, provider });
    expect((ex as unknown as { provider: string }).provider).toBe(provider);
    // Proof of where it ran: e2b executions create a sandbox in the fake, local ones never do.
    if (provider === 'e2b') expect(fake.creates.length).toBeGreaterThan(creates);
    else expect(fake.creates.length).toBe(creates);
    return ex;
  };

  it('runs python with stdin', async () => {
    const ex = await run({ language: 'python', code: 'print(input()[::-1])', stdin: 'hello' });
    expect(ex.status).toBe('succeeded');
    expect(ex.result).toMatchObject({ exitCode: 0, signal: null, stdout: 'olleh\n', stderr: '' });
    expect(ex.attempts).toBe(1);
  });

  it('runs javascript as CommonJS and as an ES module', async () => {
    const cjs = await run({ language: 'javascript', code: "const os = require('os'); console.log(typeof os.cpus)" });
    expect(cjs.result?.stdout).toBe('function\n');
    const esm = await run({ language: 'javascript', code: "import { sep } from 'node:path'; console.log(sep, await Promise.resolve(7))" });
    expect(esm.status).toBe('succeeded');
    expect(esm.result?.stdout).toBe('/ 7\n');
  });

  it('transpiles and runs typescript', async () => {
    const ex = await run({ language: 'typescript', code: 'interface P { n: number }\nconst p: P = { n: 6 };\nconsole.log((p.n * 2) as number);' });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('12\n');
  });

  it("bundles typescript with the request's own files it imports, and its stack traces name them", async () => {
    const ex = await run({
      language: 'typescript',
      code: "import { check } from './lib/util';\nconsole.log(check(2));\ncheck(-1);",
      files: [{ path: 'lib/util.ts', content: 'export function check(n: number): number {\n  if (n < 0) throw new RangeError(`negative: ${n}`);\n  return n * 21;\n}' }],
    });
    expect(ex.status).toBe('failed');
    expect(ex.result?.stdout).toBe('42\n');
    expect(ex.result?.stderr).toMatch(/RangeError: negative: -1\n {4}at check \(\/.*\/lib\/util\.ts:2:20\)\n/);
  });

  it('runs bash with stdin', async () => {
    const ex = await run({ language: 'bash', code: 'read name; echo "hi $name"; cat', stdin: 'ada\nrest of it\n' });
    expect(ex.result?.stdout).toBe('hi ada\nrest of it\n');
  });

  it('passes args and env, and no other environment than PATH, HOME, TMPDIR and LANG', async () => {
    const ex = await run({
      language: 'python',
      code: 'import os, sys\nprint(sys.argv[1:])\nprint(os.environ["GREETING"])\nprint(sorted(os.environ))',
      args: ['one', 'two words', "it's"],
      env: { GREETING: 'hi there' },
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.stdout).toBe(`['one', 'two words', "it's"]\nhi there\n['GREETING', 'HOME', 'LANG', 'PATH', 'TMPDIR']\n`);
    expect(ex.result!.stdout).not.toContain(CANARY);
  });

  it('writes files, nested and base64, that the program can read and import', async () => {
    const ex = await run({
      language: 'python',
      code: 'import csv, helper\nprint(list(csv.reader(open("data/in.csv"))))\nprint(open("bin.dat","rb").read())\nprint(helper.answer())',
      files: [
        { path: 'data/in.csv', content: 'a,b\n1,2\n' },
        { path: 'bin.dat', content: Buffer.from([0, 255, 10]).toString('base64'), encoding: 'base64' },
        { path: 'helper.py', content: 'def answer():\n    return 42\n' },
      ],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe("[['a', 'b'], ['1', '2']]\nb'\\x00\\xff\\n'\n42\n");
  });

  it('returns artifacts matching the requested patterns, and skips links', async () => {
    const ex = await run({
      language: 'bash',
      code: 'mkdir -p out/deep; printf "\\x00\\x01\\x02" > out/a.bin; echo -n b > out/deep/b.txt; echo no > skip.txt; ln -s ../skip.txt out/link.txt',
      artifacts: ['out/**'],
    });
    expect(ex.status).toBe('succeeded');
    const result = ex.result as Result & { skippedArtifacts: { path: string; reason: string }[] };
    expect(result.artifacts.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'out/a.bin', size: 3, encoding: 'base64', content: Buffer.from([0, 1, 2]).toString('base64') },
      { path: 'out/deep/b.txt', size: 1, encoding: 'base64', content: Buffer.from('b').toString('base64') },
    ]);
    expect(result.skippedArtifacts).toEqual([{ path: 'out/link.txt', reason: 'is a symbolic link' }]);
  });

  it('reports a non-zero exit as failed, with its output, without retrying', async () => {
    const ex = await run({ language: 'python', code: 'import sys\nprint("partial")\nprint("bad", file=sys.stderr)\nsys.exit(3)' });
    expect(ex.status).toBe('failed');
    expect(ex.result).toMatchObject({ exitCode: 3, signal: null, stdout: 'partial\n', stderr: 'bad\n' });
    expect(ex.attempts).toBe(1);
    expect(ex.error).toBeNull();
  });

  it('reports death by a signal as a shell does', async () => {
    const ex = await run({ language: 'bash', code: 'echo before; kill -9 $$' });
    expect(ex.status).toBe('failed');
    expect(ex.result).toMatchObject({ exitCode: 137, signal: 'SIGKILL', stdout: 'before\n' });
  });

  it('times out', async () => {
    const ex = await run({ language: 'bash', code: 'echo started; sleep 30', limits: { timeoutMs: 700 } });
    expect(ex.status).toBe('timed_out');
    expect(ex.result).toMatchObject({ exitCode: null, signal: 'SIGKILL', stdout: 'started\n' });
    expect(ex.result!.durationMs).toBeGreaterThanOrEqual(700);
    expect(ex.result!.durationMs).toBeLessThan(20_000);
  });

  it('stops a program that writes past the output cap, on either stream', async () => {
    const out = await run({ language: 'python', code: 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000)', limits: { maxOutputBytes: 4096 } });
    expect(out.status).toBe('output_exceeded');
    expect(out.result?.stdout).toBe('x'.repeat(4096));
    expect(out.result).toMatchObject({ stdoutTruncated: true, stderrTruncated: false, exitCode: null });
    const err = await run({ language: 'bash', code: 'yes err 1>&2', limits: { maxOutputBytes: 100 } });
    expect(err.status).toBe('output_exceeded');
    expect(err.result?.stderr).toHaveLength(100);
    expect(err.result?.stderrTruncated).toBe(true);
  });

  it('streams output live and can be cancelled while it runs', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', {
      language: 'python',
      code: 'import time\nprint("first", flush=True)\ntime.sleep(30)\nprint("never")',
      provider,
    });
    const { id } = (await res.json()) as { id: string };
    const client = await SseClient.connect(`${svc.baseUrl}/v1/executions/${id}/events`);
    // The whole line, which may come in more than one event: cancelled earlier, the job would rightly have less.
    const stdoutSoFar = () => client.named('stdout').map((e) => (JSON.parse(e.data) as { text: string }).text).join('');
    await client.waitFor(() => stdoutSoFar().includes('first\n'));
    const cancelled = await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' });
    expect(cancelled.status).toBeLessThan(300);
    const done = await client.waitFor((e) => e.event === 'done');
    client.close();
    const ex = JSON.parse(done.data) as ExecutionJson;
    expect(ex.status).toBe('cancelled');
    expect(ex.result?.stdout).toBe('first\n');
  });
});

describe('after the jobs', () => {
  it('has killed every E2B sandbox it created', async () => {
    expect(fake.all().length).toBeGreaterThan(10);
    await eventually(async () => fake.live().length === 0, 10_000, 'every sandbox to be killed');
    expect(fake.kills.every((k) => k.by === 'api')).toBe(true);
  });
});

describe('choosing the provider', () => {
  it('runs a request without `provider` on the deployment default', async () => {
    const creates = fake.creates.length;
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo default' });
    expect(ex).toMatchObject({ status: 'succeeded', provider: 'local' });
    expect(fake.creates.length).toBe(creates);
  });

  it('refuses, naming `provider`, a provider the deployment has not enabled', async () => {
    const plain = await startTestService({}, 'api');
    try {
      const res = await postJson(plain.baseUrl, '/v1/executions', { language: 'python', code: 'print(1)', provider: 'e2b' });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: { path: string; message: string }[] };
      expect(problem.errors.map((e) => e.path)).toEqual(['provider']);
      expect(problem.errors[0]!.message).toContain('not enabled');
    } finally {
      await plain.stop();
    }
  });

  it("lists e2b's interpreters among the worker's languages", async () => {
    const body = (await (await fetch(`${svc.baseUrl}/v1/languages`)).json()) as { items: { name: string; providers: string[] }[] };
    // E2B's template has the interpreters; compiled languages are the local provider's.
    const interpreters = body.items.filter((i) => i.providers.includes('e2b'));
    expect(interpreters.map((i) => i.name)).toEqual(['bash', 'javascript', 'python', 'typescript']);
    for (const item of interpreters) expect(item.providers).toEqual(['e2b', 'local']);
  });

  it('fails a job no worker that has its provider takes within HAND_BACK_TIMEOUT_MS: error, not a wait forever', async () => {
    const api = await startE2BTestService(fake, {}, 'api');
    const base = { REDIS_URL: api.redis.url, LOG_LEVEL: 'silent', POOL_SIZE: '0', WORKER_CONCURRENCY: '1', HAND_BACK_TIMEOUT_MS: '1500' };
    const localOnly = await WorkerRole.start(loadConfig({ ...base, ...isolatedSandbox(100) }), api.redis.url, createLogger('silent'));
    try {
      const res = await postJson(api.baseUrl, '/v1/executions', { language: 'python', code: 'print("never")', provider: 'e2b' });
      const { id } = (await res.json()) as { id: string };
      const ex = await eventually(async () => {
        const current = (await (await fetch(`${api.baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
        return current.status !== 'queued' && current.status !== 'running' && current;
      }, 20_000, 'the job to fail');
      expect(ex.status).toBe('error');
      expect(ex.result).toBeNull();
    } finally {
      await localOnly.close();
      await api.stop();
    }
  });

  it('hands a job back when its worker lacks the provider, and a worker that has it runs it', async () => {
    // The API enables e2b; the only worker at first does not.
    const api = await startE2BTestService(fake, {}, 'api');
    const logger = createLogger('silent');
    const base = { REDIS_URL: api.redis.url, LOG_LEVEL: 'silent', POOL_SIZE: '0', WORKER_CONCURRENCY: '1' };
    const localOnly = await WorkerRole.start(loadConfig({ ...base, ...isolatedSandbox(100) }), api.redis.url, logger);
    let withE2B: WorkerRole | undefined;
    try {
      const res = await postJson(api.baseUrl, '/v1/executions', { language: 'python', code: 'print("ran on e2b")', provider: 'e2b' });
      const { id } = (await res.json()) as { id: string };
      const get = async () => (await (await fetch(`${api.baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
      // Taken at least once by the worker without e2b, and still waiting: not failed.
      await eventually(async () => {
        const ex = await get();
        return ex.attempts >= 1 && ex.status === 'queued';
      }, 10_000, 'the job to be handed back');
      // Then a worker that has e2b joins (and the other leaves, so that it cannot take the job again first).
      await localOnly.close();
      withE2B = await WorkerRole.start(
        loadConfig({ ...base, ...fake.env(), E2B_CREATE_RATE_PER_SECOND: '100', ...isolatedSandbox(100) }),
        api.redis.url,
        logger,
      );
      const ex = await eventually(async () => {
        const current = await get();
        return current.status !== 'queued' && current.status !== 'running' && current;
      }, 20_000, 'the job to finish');
      expect(ex.status).toBe('succeeded');
      expect(ex.result?.stdout).toBe('ran on e2b\n');
    } finally {
      await localOnly.close();
      await withE2B?.close();
      await api.stop();
    }
  });
});
