import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { postJson, runExecution, startTestService, type ExecutionJson, type TestService } from '../../helpers/service.js';

/**
 * Attacks through the compile step: it runs in the job's own sandbox, under
 * the job's compile limits, and what it builds stays there.
 */
let svc: TestService;

beforeAll(async () => {
  // No warm pool: no sandbox starts after a job ends, so a job's uid is not handed out again while a test looks for its processes.
  svc = await startTestService({ POOL_SIZE: '0' });
});
afterAll(async () => {
  await svc?.stop();
});

describe('the compile step', () => {
  it('cannot read the host\'s files into the program: the compiler sees only the sandbox', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'c', code: '#include "/etc/shadow"\nint main(void) { return 0; }\n' });
    expect(ex.status).toBe('compile_failed');
    expect(ex.result!.compile!.stderr).toContain('No such file or directory');
    const incbin = await runExecution(svc.baseUrl, { language: 'assembly', code: 'section .data\nsecret: incbin "/etc/shadow"\nsection .text\nglobal _start\n_start:\n  mov rax, 60\n  syscall\n' });
    expect(incbin.status).toBe('compile_failed');
  });

  it('runs no startup file of the job\'s before its program: a .bashrc or .profile in /work is only a file', async () => {
    // bash reads ~/.bashrc (HOME is /work) even under -c when its stdin is a socket, as a sandbox's is: sandq's shells must not.
    const files = ['.bashrc', '.profile', '.bash_profile'].map((path) => ({ path, content: `echo ${path} >> /tmp/sourced\n` }));
    const look = 'cat /tmp/sourced 2>/dev/null; echo looked';
    const compiled = await runExecution(svc.baseUrl, { language: 'c', code: `#include <stdlib.h>\nint main(void) { return system("${look}"); }\n`, files });
    const cases = await runExecution(svc.baseUrl, { language: 'bash', code: look, files, tests: [{}, {}] });
    const interpreted = await runExecution(svc.baseUrl, { language: 'bash', code: look, files });
    expect(compiled.result!.stdout).toBe('looked\n');
    expect(interpreted.result!.stdout).toBe('looked\n');
    expect(cases.result!.tests!.map((row) => row.stdout)).toEqual(['looked\n', 'looked\n']);
  });

  it('never hands back what it built, whatever the artifact patterns, and says why', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'c',
      code: '#include <stdio.h>\nint main(void) { FILE *f = fopen("out.txt", "w"); fputs("made by the run", f); fclose(f); return 0; }\n',
      files: [{ path: 'notes.txt', content: 'mine' }],
      artifacts: ['*'],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.artifacts.map((a) => a.path).sort()).toEqual(['main.c', 'notes.txt', 'out.txt']);
    expect(ex.result!.skippedArtifacts).toEqual([{ path: 'main', reason: 'was written by the compile, and what a compile builds is not handed back' }]);
    // A failed compile's leftovers too (nasm writes main.o, then ld fails on the missing symbol).
    const failed = await runExecution(svc.baseUrl, { language: 'assembly', code: 'extern nowhere\nsection .text\nglobal _start\n_start:\n  call nowhere\n', artifacts: ['*'] });
    expect(failed.status).toBe('compile_failed');
    expect(failed.result!.artifacts.map((a) => a.path)).toEqual(['main.asm']);
    expect(failed.result!.skippedArtifacts.map((s) => s.path)).toEqual(['main.o']);
  });

  it('is bounded by the job\'s limits: an object file past maxFileBytes stops the compiler, not the worker', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'assembly',
      code: 'section .data\nbig: times 20000000 db 0\nsection .text\nglobal _start\n_start:\n  mov rax, 60\n  syscall\n',
      limits: { maxFileBytes: 1_000_000 },
    });
    expect(ex.status).toBe('compile_failed');
    expect(ex.result!.compile).toMatchObject({ signal: 'SIGXFSZ', limit: 'maxFileBytes' });
  }, 60_000);

  it('leaves no process behind when the job is cancelled while it compiles (the program\'s waiting sandbox included)', async () => {
    const code = 'constexpr long spin() { long s = 0; for (long i = 0; i < 200000; i++) for (long j = 0; j < 200000; j++) s += j % 7; return s; }\nstatic_assert(spin() > 0);\nint main() {}\n';
    const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'cpp', code, limits: { compileTimeoutMs: 60_000 } });
    const { id } = (await res.json()) as { id: string };
    const get = async () => (await (await fetch(`${svc.baseUrl}/v1/executions/${id}`)).json()) as ExecutionJson;
    await eventually(async () => (await get()).status === 'running', 20_000, 'the compile to start');
    const processes = () => execFileSync('ps', ['-eo', 'uid=,comm=']).toString().split('\n').map((line) => line.trim().split(/\s+/));
    // The job's uid: the compiler's; the program's waiting sandbox runs as the same one.
    const uid = await eventually(async () => processes().find(([, comm]) => comm === 'cc1plus')?.[0], 20_000, 'the compiler to run');
    expect(processes().filter(([owner]) => owner === uid).length).toBeGreaterThan(2);
    expect((await fetch(`${svc.baseUrl}/v1/executions/${id}`, { method: 'DELETE' })).status).toBe(202);
    const ex = await eventually(async () => {
      const current = await get();
      return current.status !== 'running' && current.status !== 'queued' && current;
    }, 20_000, 'the execution to end');
    expect(ex.status).toBe('cancelled');
    await eventually(async () => !processes().some(([owner]) => owner === uid), 20_000, 'every process of the job\'s uid to be gone');
  }, 90_000);
});
