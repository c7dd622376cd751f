import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { WorkerRole } from '../../src/worker/WorkerRole.js';
import { eventually } from '../helpers/eventually.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';
import { postJson, runExecution, startTestService, type ExecutionJson, type TestService } from '../helpers/service.js';

/**
 * A worker offers what `sandq languages list` calls installed. One whose
 * program is missing is left out without a try, not probed and warned about
 * as a toolchain that is there but fails in the sandbox.
 */
const ADMIN = { user: 'ops', password: 'admin-password-0123' };
let svc: TestService;

beforeAll(async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandq-languages-')), 'languages.json');
  const missing = { name: 'fakelang', displayName: 'Not installed', sourceFile: 'main.fake', version: ['sandq-no-such-compiler', '--version'], run: ['sandq-no-such-compiler', 'main.fake'] };
  writeFileSync(file, JSON.stringify({ languages: [missing] }));
  svc = await startTestService({ LANGUAGES_FILE: file, ENABLED_LANGUAGES: 'python,fakelang', ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });
}, 60_000);
afterAll(async () => {
  await svc?.stop();
});

describe('a defined language whose toolchain is not installed', () => {
  it('is not offered, while an installed one is', async () => {
    const body = (await (await fetch(`${svc.baseUrl}/v1/languages`)).json()) as { items: { name: string }[] };
    expect(body.items.map((item) => item.name)).toEqual(['python']);
    const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
    const ready = (await (await fetch(`${svc.baseUrl}/readyz`, { headers: { authorization } })).json()) as { warnings: string[] };
    expect(ready.warnings.filter((warning) => warning.includes('fakelang'))).toEqual([]);
  });
});

describe('routing when workers differ', () => {
  it('refuses a language no live worker offers, naming the ones offered', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'fakelang', code: 'x' });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors).toEqual([{ path: 'language', message: expect.stringContaining('(offered: python)') }]);
  });

  it('hands a job to a worker that has its language: one without it puts the job back', async () => {
    // An API with every language, a worker with python only, and one with all (busy at first, so the other takes the job).
    const api = await startTestService({}, 'api');
    const logger = createLogger('silent');
    const base = { REDIS_URL: api.redis.url, LOG_LEVEL: 'silent', POOL_SIZE: '0', WORKER_CONCURRENCY: '1' };
    const pythonOnly = await WorkerRole.start(loadConfig({ ...base, ENABLED_LANGUAGES: 'python', ...isolatedSandbox(100) }), api.redis.url, logger);
    const everything = await WorkerRole.start(loadConfig({ ...base, ...isolatedSandbox(100) }), api.redis.url, logger);
    try {
      const busy = (await (await postJson(api.baseUrl, '/v1/executions', { language: 'bash', code: 'sleep 3; echo slept', priority: 1 })).json()) as { id: string };
      const get = async (id: string) => (await (await fetch(`${api.baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
      await eventually(async () => (await get(busy.id)).status === 'running', 20_000, 'the worker with every language to be busy');
      const ex = await runExecution(api.baseUrl, { language: 'c', code: '#include <stdio.h>\nint main(void) { puts("compiled"); }\n' });
      expect(ex.status).toBe('succeeded');
      expect(ex.result!.stdout).toBe('compiled\n');
      // Taken first by the python-only worker, which put it back; then run by the other.
      expect(ex.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await pythonOnly.close();
      await everything.close();
      await api.stop();
    }
  }, 90_000);
});
