import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../../helpers/service.js';

/**
 * Attacks through the compile step: it runs in the job's own sandbox, under
 * the job's compile limits, and what it builds stays there.
 */
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService();
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

  it('never hands back what it built, whatever the artifact patterns, and says why', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'c',
      code: '#include <stdio.h>\nint main(void) { FILE *f = fopen("out.txt", "w"); fputs("made by the run", f); fclose(f); return 0; }\n',
      files: [{ path: 'notes.txt', content: 'mine' }],
      artifacts: ['*'],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.artifacts.map((a) => a.path).sort()).toEqual(['main.c', 'notes.txt', 'out.txt']);
    expect(ex.result!.skippedArtifacts).toEqual([{ path: 'main', reason: 'was written by the compile: compiled programs never leave the sandbox' }]);
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
});
