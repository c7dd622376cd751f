import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../../helpers/service.js';

/**
 * A host without a writable cgroup hierarchy (here: pointed at an empty
 * directory). The worker must say so in /readyz and still hold the line
 * with rlimits on each sandbox's own uid.
 */
let svc: TestService;
beforeAll(async () => {
  const noCgroups = mkdtempSync(path.join(os.tmpdir(), 'sandq-no-cgroups-'));
  svc = await startTestService({ SANDBOX_CGROUP_ROOT: noCgroups });
});
afterAll(async () => {
  await svc?.stop();
});
afterEach(async () => {
  const next = await runExecution(svc.baseUrl, { language: 'python', code: 'print("next job ok")' });
  expect(next.result?.stdout).toBe('next job ok\n');
});

describe('without cgroups', () => {
  it('warns in /readyz that limits fall back to rlimits', async () => {
    const ready = (await (await fetch(`${svc.baseUrl}/readyz`)).json()) as { status: string; warnings: string[] };
    expect(ready.status).toBe('ready');
    expect(ready.warnings.join('\n')).toMatch(/no writable cgroup hierarchy.*fall back to rlimits/);
  });

  it('bounds processes with RLIMIT_NPROC', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: ':(){ :|:& };:; sleep 1; echo survived',
      limits: { maxProcesses: 16, timeoutMs: 3000 },
    });
    expect(ex.result?.stderr).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
  });

  it('bounds a Python memory bomb with RLIMIT_AS', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))',
      limits: { memoryMb: 64 },
    });
    expect(ex.status).toBe('failed');
    expect(ex.result?.stderr).toContain('MemoryError');
  });

  it('still runs node, which RLIMIT_AS would not let start', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'javascript', code: 'console.log(1 + 1)', limits: { memoryMb: 64 } });
    expect(ex.result?.stdout).toBe('2\n');
  });
});
