import { randomUUID } from 'node:crypto';
import { Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../helpers/service.js';

// Against the real E2B service: runs only with E2B_API_KEY (it creates a few short-lived
// sandboxes on that account). Without it, the suite is reported as skipped, never as passed.
const apiKey = process.env.E2B_API_KEY;
if (!apiKey) console.warn('SKIPPED test/e2b.live.test.ts: E2B_API_KEY is not set, so the e2b provider was not tried against the real E2B.');

describe.skipIf(!apiKey)('the e2b provider against the real E2B', () => {
  const deployment = `sandq-live-test-${randomUUID().slice(0, 8)}`;
  const sdkEnv = Object.fromEntries(
    ['E2B_API_KEY', 'E2B_DOMAIN', 'E2B_API_URL', 'E2B_SANDBOX_URL'].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])),
  );
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService({ ...sdkEnv, SANDBOX_PROVIDER: 'e2b', DEPLOYMENT_NAME: deployment, E2B_SANDBOX_TIMEOUT_MS: '120000' });
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
  }, 120_000);

  it('runs python with stdin, files and artifacts', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import os\nname = input()\nos.makedirs("out", exist_ok=True)\nopen("out/r.txt", "w").write(open("in.txt").read() + name)\nprint("hi", name)',
      stdin: 'ada',
      files: [{ path: 'in.txt', content: 'from a file, ' }],
      artifacts: ['out/*'],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('hi ada\n');
    const { artifacts } = ex.result as unknown as { artifacts: { path: string; content: string }[] };
    expect(artifacts.map((a) => [a.path, Buffer.from(a.content, 'base64').toString()])).toEqual([['out/r.txt', 'from a file, ada']]);
  }, 120_000);

  it('reports a failing program and a timeout like the local provider', async () => {
    const failed = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo partial; exit 3' });
    expect(failed).toMatchObject({ status: 'failed', result: { exitCode: 3, stdout: 'partial\n' } });
    const slow = await runExecution(svc.baseUrl, { language: 'javascript', code: 'console.log("started"); setTimeout(() => {}, 60000)', limits: { timeoutMs: 2000 } });
    expect(slow).toMatchObject({ status: 'timed_out', result: { exitCode: null, stdout: 'started\n' } });
  }, 120_000);

  it('leaves no sandbox of this deployment running once the worker stops', async () => {
    await svc.service.worker!.close();
    const pages = Sandbox.list({ apiKey, query: { metadata: { 'sandq-deployment': deployment }, state: ['running'] } });
    const left = [];
    while (pages.hasNext) left.push(...(await pages.nextItems()));
    expect(left.map((s) => s.sandboxId)).toEqual([]);
  }, 120_000);
});
