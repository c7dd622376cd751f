import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toExecutionView } from '../../../src/executions/executionView.js';
import { postJson, runExecution, startTestService, type TestService } from '../../helpers/service.js';

/**
 * Attacks through what the worker derives from a request (transpiling,
 * writing the request's files) and through what the sandbox could tell of
 * its host. Each is a real job through the API; each failed on the code
 * before this suite existed.
 */
let svc: TestService;
const UID_COUNT = 100;
const SOURCE_TREE = path.resolve(import.meta.dirname, '../../..');

beforeAll(async () => {
  svc = await startTestService({ SANDBOX_UID_COUNT: String(UID_COUNT) });
});
afterAll(async () => {
  await svc?.stop();
});

/** Every process below `root`, with its uid and peak resident memory (VmHWM, kB). */
function descendants(root: number): { pid: number; uid: number; peakKb: number; comm: string }[] {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-eo', 'pid=,ppid=']).toString().trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    children.set(ppid!, [...(children.get(ppid!) ?? []), pid!]);
  }
  const found: { pid: number; uid: number; peakKb: number; comm: string }[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      try {
        const status = readFileSync(`/proc/${child}/status`, 'utf8');
        const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(status)?.[1] ?? '';
        found.push({ pid: child, uid: Number(field('Uid')), peakKb: Number(field('VmHWM')) || 0, comm: field('Name') });
      } catch {
        // exited meanwhile
      }
      visit(child);
    }
  };
  visit(root);
  return found;
}

const typescript = (code: string, limits: Record<string, number> = {}) => runExecution(svc.baseUrl, { language: 'typescript', code, limits });

describe('TypeScript is transpiled inside the job\'s sandbox, under its limits', () => {
  it('an enum that doubles a string 23 times (456 bytes of source, 50 MB of program) costs the worker host nothing', async () => {
    const members = ['A0 = "xy"', ...Array.from({ length: 23 }, (_, i) => `A${i + 1} = A${i} + A${i}`)];
    const code = `enum E { ${members.join(', ')} }\nconsole.log(E.A23.length)`;
    expect(code.length).toBeLessThan(500);
    const ex = await typescript(code, { memoryMb: 128 });
    // Stopped inside the sandbox: by the memory cgroup, or by the cap on the transpiled program's size.
    expect(['memory_exceeded', 'failed']).toContain(ex.status);
    if (ex.status === 'failed') expect(ex.result?.stderr).toContain('the transpiled program is larger than');
    // Nothing outside a sandbox (the worker, a transpiler of its own) grew to hold the program.
    const outside = descendants(process.pid).filter((p) => p.uid < svc.config.SANDBOX_UID_BASE || p.uid >= svc.config.SANDBOX_UID_BASE + UID_COUNT);
    expect(outside.filter((p) => p.peakKb > 200 * 1024)).toEqual([]);
  });

  it('200,000 nested brackets fail that job alone; TypeScript keeps working on the worker', async () => {
    const deep = await typescript(`const x = ${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    // The transpiler's stack overflow ends that job: as its failure, or its memory limit first.
    expect(['failed', 'memory_exceeded']).toContain(deep.status);
    expect(deep.error).toBeNull();
    for (let i = 0; i < 2; i++) {
      const next = await typescript('const n: number = 6 * 7; console.log(n)');
      expect(next.status).toBe('succeeded');
      expect(next.result?.stdout).toBe('42\n');
    }
  });

  it("counts the transpile against the job's timeout", async () => {
    // Far more source than can be transpiled in 50 ms: the job's clock covers the transpile.
    const code = Array.from({ length: 20_000 }, (_, i) => `const v${i}: number = ${i};`).join('\n');
    const ex = await typescript(code, { timeoutMs: 50 });
    expect(ex.status).toBe('timed_out');
  });

  it('reports a syntax error as the program\'s failure, in its stderr', async () => {
    const ex = await typescript('const x: number = ;');
    expect(ex.status).toBe('failed');
    expect(ex.result?.exitCode).not.toBe(0);
    expect(ex.result?.stderr).toContain('main.ts:1:');
  });
});

describe("a request's files", () => {
  it('refuses at submit a name longer than 255 bytes, counted in UTF-8', async () => {
    for (const name of ['a'.repeat(256), 'é'.repeat(128)]) {
      const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'python', code: 'pass', files: [{ path: `data/${name}`, content: 'x' }] });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain('files[0].path');
    }
  });

  it('ends a path the host cannot create as `failed`, once, naming no host path', async () => {
    // As long as the sandbox may open (4089 bytes, 255 per name), and so past PATH_MAX once the host's work dir is in front.
    const deep = [...Array.from({ length: 15 }, (_, i) => `${i}`.padEnd(255, 'd')), 'f'.repeat(249)].join('/');
    expect(Buffer.byteLength(deep)).toBe(4089);
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print(1)', files: [{ path: deep, content: 'x' }] });
    expect(ex.status).toBe('failed');
    expect(ex.attempts).toBe(1);
    expect(ex.error).toBeNull();
    expect(ex.result?.stderr).toContain('the path is too long for the filesystem');
    expect(ex.result?.stderr).not.toContain(svc.config.SANDBOX_WORK_ROOT);
  });
});

describe('what a job can tell of its host', () => {
  it('sees its own cgroup as the root of every hierarchy', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'cat /proc/self/cgroup' });
    const lines = ex.result!.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/:\/$/);
    expect(ex.result?.stdout).not.toContain(String(process.pid));
  });

  it('finds no host path and no worker pid in its mountinfo, in any runtime', async () => {
    for (const language of ['bash', 'python', 'typescript'] as const) {
      const code = { bash: 'cat /proc/self/mountinfo', python: 'print(open("/proc/self/mountinfo").read())', typescript: 'import { readFileSync } from "fs"; console.log(readFileSync("/proc/self/mountinfo", "utf8"))' }[language];
      const ex = await runExecution(svc.baseUrl, { language, code });
      expect(ex.status).toBe('succeeded');
      const mountinfo = ex.result!.stdout;
      expect(mountinfo).toContain(' /work ');
      expect(mountinfo).not.toContain(svc.config.SANDBOX_WORK_ROOT);
      expect(mountinfo).not.toContain(SOURCE_TREE);
      expect(mountinfo).not.toContain('node_modules');
      // The pid as a path part (a name like job-<pid>-…), not as a number that happens to match a mount id.
      expect(mountinfo).not.toMatch(new RegExp(`[/-]${process.pid}[-/ ]`));
    }
  });
});

describe('what a client hears of a service failure', () => {
  it("names no host path, pid or worker from the job's failure reason", () => {
    const reason = `bubblewrap failed to start the sandbox (exit 1): bwrap: Can't mkdir ${svc.config.SANDBOX_WORK_ROOT}/w1/j2: worker host-${process.pid}`;
    const job = { id: 'ex_1', data: { request: { language: 'python', metadata: {} }, provider: 'local' }, timestamp: Date.now(), failedReason: reason, attemptsMade: 3 };
    const view = toExecutionView(job as unknown as Parameters<typeof toExecutionView>[0], 'failed');
    expect(view.status).toBe('error');
    expect(view.error?.code).toBe('internal');
    expect(view.error?.message).not.toContain(svc.config.SANDBOX_WORK_ROOT);
    expect(view.error?.message).not.toContain(String(process.pid));
  });
});
