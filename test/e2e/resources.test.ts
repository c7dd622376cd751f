import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../helpers/service.js';

/**
 * CPU time and memory, limited and reported from the job's cgroup (v1 on
 * this machine; test/integration/cgroups.*.test.ts checks each version's
 * files), and the rlimits a request sets: open files and file size.
 */
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({ COMPILE_TIMEOUT_MS_MAX: '120000' });
});
afterAll(async () => {
  await svc?.stop();
});

/** A python program that spins until its own CPU clock says it has used `seconds` more (the warm interpreter's start is not the job's). */
const spinFor = (seconds: number) => `import time\nstart = time.process_time()\nwhile time.process_time() - start < ${seconds}:\n    pass\nprint("spun")`;

describe('what a run used', () => {
  it('reports the CPU time and the memory peak of the run, from its cgroup', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: `block = bytearray(64 * 1024 * 1024)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\n${spinFor(0.3)}`,
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.cpuTimeMs).toBeGreaterThanOrEqual(300);
    expect(ex.result!.memoryPeakBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(ex.result!.limit).toBeNull();
  });

  it('reports the compile and the run apart, each with its own figures', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'c',
      // volatile: the optimizer may not drop the writes.
      code: '#include <stdlib.h>\n#include <stdio.h>\nint main(void) { volatile char *p = malloc(96 << 20); for (long i = 0; i < (96 << 20); i += 4096) p[i] = 1; printf("%d\\n", p[4096]); return 0; }\n',
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.stdout).toBe('1\n');
    const compile = ex.result!.compile!;
    expect(compile.cpuTimeMs).toBeGreaterThan(0);
    expect(compile.memoryPeakBytes).toBeGreaterThan(0);
    // The program's peak is its own 96 MiB, not the compiler's.
    expect(ex.result!.memoryPeakBytes).toBeGreaterThanOrEqual(96 * 1024 * 1024);
  });
});

describe('limits', () => {
  it('stops a busy program at limits.cpuTimeMs, long before its wall-clock timeout, and says which limit', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: spinFor(600), limits: { cpuTimeMs: 500, timeoutMs: 60_000 } });
    expect(ex.status).toBe('timed_out');
    expect(ex.result!.limit).toBe('cpuTimeMs');
    expect(ex.result!.cpuTimeMs).toBeGreaterThanOrEqual(500);
    expect(ex.result!.stdout).toBe('');
  });

  it('names timeoutMs when the wall clock ran out, and memoryMb when memory did', async () => {
    const slept = await runExecution(svc.baseUrl, { language: 'bash', code: 'sleep 30', limits: { timeoutMs: 300 } });
    expect(slept).toMatchObject({ status: 'timed_out', result: { limit: 'timeoutMs' } });
    const grew = await runExecution(svc.baseUrl, { language: 'python', code: 'b = bytearray(200 * 1024 * 1024)', limits: { memoryMb: 64 } });
    expect(grew).toMatchObject({ status: 'memory_exceeded', result: { limit: 'memoryMb' } });
  });

  it('caps open files at limits.maxOpenFiles', async () => {
    const code = 'import os\nfds = []\ntry:\n    while True:\n        fds.append(os.open("/dev/null", os.O_RDONLY))\nexcept OSError as e:\n    print(len(fds) + 3, e.strerror)';
    const few = await runExecution(svc.baseUrl, { language: 'python', code, limits: { maxOpenFiles: 32 } });
    expect(few.result!.stdout).toMatch(/^\d+ Too many open files\n$/);
    expect(Number(few.result!.stdout.split(' ')[0])).toBeLessThanOrEqual(32);
    const more = await runExecution(svc.baseUrl, { language: 'python', code, limits: { maxOpenFiles: 200 } });
    expect(Number(more.result!.stdout.split(' ')[0])).toBeGreaterThan(150);
    expect(Number(more.result!.stdout.split(' ')[0])).toBeLessThanOrEqual(200);
  });

  it('caps a written file at limits.maxFileBytes and reports SIGXFSZ as that limit, not as memory', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'exec head -c 5000000 /dev/zero > big', limits: { maxFileBytes: 1_000_000, memoryMb: 256 } });
    expect(ex.status).toBe('failed');
    expect(ex.result).toMatchObject({ signal: 'SIGXFSZ', limit: 'maxFileBytes' });
    const size = await runExecution(svc.baseUrl, { language: 'bash', code: 'head -c 5000000 /dev/zero > big; stat -c %s big', limits: { maxFileBytes: 1_000_000 } });
    expect(size.result!.stdout).toBe('1000000\n');
  });

  it('refuses limits above the operator\'s maximums, naming the field', async () => {
    for (const limits of [{ cpuTimeMs: 60_001 }, { maxOpenFiles: 65_537 }, { maxFileBytes: 1024 ** 3 + 1 }, { maxOpenFiles: 8 }]) {
      const res = await fetch(`${svc.baseUrl}/v1/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'bash', code: 'true', limits }),
      });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toEqual([`limits.${Object.keys(limits)[0]}`]);
    }
  });

  it('stops a compile at limits.compileTimeoutMs: compile_failed, with the limit named, and the program never runs', async () => {
    // Constant evaluation that gcc grinds through for minutes before its own limit (2^33 operations; each loop stays under its 262144 iterations).
    const code =
      'constexpr long spin() { long s = 0; for (long i = 0; i < 200000; i++) for (long j = 0; j < 200000; j++) s += j % 7; return s; }\nstatic_assert(spin() > 0);\nint main() {}\n';
    const ex = await runExecution(svc.baseUrl, { language: 'cpp', code, limits: { compileTimeoutMs: 1000 } });
    expect(ex.status).toBe('compile_failed');
    expect(ex.result!.compile).toMatchObject({ limit: 'compileTimeoutMs', exitCode: null, signal: 'SIGKILL' });
    expect(ex.result).toMatchObject({ exitCode: null, stdout: '', limit: null });
  });
});
