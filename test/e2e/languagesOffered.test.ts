import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

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
