import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, runExecution, startTestService, type TestService } from '../helpers/service.js';

let svc: TestService;
const CANARY = 'canary-secret-5f1e2d';

beforeAll(async () => {
  // The worker's own environment must never reach a sandbox.
  process.env.SANDQ_TEST_CANARY = CANARY;
  svc = await startTestService();
});
afterAll(async () => {
  await svc?.stop();
  delete process.env.SANDQ_TEST_CANARY;
});

describe('languages', () => {
  it('runs python with stdin', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print(input()[::-1])', stdin: 'hello' });
    expect(ex.status).toBe('succeeded');
    expect(ex.result).toMatchObject({ exitCode: 0, signal: null, stdout: 'olleh\n', stderr: '' });
    expect(ex.attempts).toBe(1);
    expect(ex.startedAt).not.toBeNull();
    expect(ex.finishedAt).not.toBeNull();
  });

  it('runs javascript as CommonJS and as an ES module', async () => {
    const cjs = await runExecution(svc.baseUrl, { language: 'javascript', code: "const os = require('os'); console.log(typeof os.cpus)" });
    expect(cjs.result?.stdout).toBe('function\n');
    const esm = await runExecution(svc.baseUrl, { language: 'javascript', code: "import { sep } from 'node:path'; console.log(sep, await Promise.resolve(7))" });
    expect(esm.status).toBe('succeeded');
    expect(esm.result?.stdout).toBe('/ 7\n');
  });

  it('transpiles and runs typescript', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'typescript',
      code: 'interface P { n: number }\nconst p: P = { n: 6 };\nconst twice = (x: number): number => x * 2;\nconsole.log(twice(p.n) as number);',
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('12\n');
  });

  it("bundles typescript with the request's own .ts files it imports", async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'typescript',
      code: "import { twice } from './helper';\nimport { shout } from './lib/util.ts';\nimport { readFileSync } from 'fs';\nconsole.log(shout(String(twice(21))), readFileSync(`${__dirname}/lib/util.ts`, 'utf8').length > 0, await Promise.resolve('tla'));",
      files: [
        { path: 'helper.ts', content: 'export const twice = (n: number): number => n * 2;' },
        { path: 'lib/util.ts', content: "import { twice } from '../helper';\nexport function shout(s: string): string { return `${s}!`.repeat(twice(1) / 2); }" },
      ],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe('42! true tla\n');
  });

  it('fails a typescript job that imports a file it was not given, and the next one runs', async () => {
    const missing = await runExecution(svc.baseUrl, { language: 'typescript', code: "import { f } from './nowhere';\nconsole.log(f());" });
    expect(missing.status).toBe('failed');
    expect(missing.result?.stderr).toContain('Could not resolve "./nowhere"');
    const next = await runExecution(svc.baseUrl, { language: 'typescript', code: "const r = require('os'); console.log(typeof r.cpus as string);" });
    expect(next.status).toBe('succeeded');
    expect(next.result?.stdout).toBe('function\n');
  });

  it('shows a stack trace of the program alone, as node main.js would', async () => {
    const code = 'function fail() {\n  throw new Error("boom");\n}\nfail();\n';
    const js = await runExecution(svc.baseUrl, { language: 'javascript', code });
    expect(js.status).toBe('failed');
    expect(js.result?.stderr).toContain('Error: boom\n    at fail (/work/main.js:2:9)\n    at Object.<anonymous> (/work/main.js:4:1)\n');
    expect(js.result?.stderr).not.toContain('[eval]');
    const esm = await runExecution(svc.baseUrl, { language: 'javascript', code: `await 0;\n${code}` });
    expect(esm.result?.stderr).toContain('Error: boom\n    at fail (file:///work/main.js:3:9)\n');
    expect(esm.result?.stderr).not.toContain('[eval]');
    const ts = await runExecution(svc.baseUrl, { language: 'typescript', code: code.replace('fail()', 'fail(): never') });
    expect(ts.status).toBe('failed');
    // From the bundle's source map: the TypeScript file and line.
    expect(ts.result?.stderr).toContain('Error: boom\n    at fail (/work/main.ts:2:9)\n');
    expect(ts.result?.stderr).not.toContain('[eval]');
    const imported = await runExecution(svc.baseUrl, {
      language: 'typescript',
      code: "import { check } from './lib/util';\ncheck(-1);",
      files: [{ path: 'lib/util.ts', content: 'export function check(n: number): void {\n  if (n < 0) throw new RangeError(`negative: ${n}`);\n}' }],
    });
    expect(imported.result?.stderr).toContain('RangeError: negative: -1\n    at check (/work/lib/util.ts:2:20)\n    at <anonymous> (/work/main.ts:2:1)\n');
  });

  it('runs bash', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'read name; echo "hi $name from $(hostname)"', stdin: 'ada\n' });
    expect(ex.result?.stdout).toBe('hi ada from sandbox\n');
  });

  it('lists the languages the worker really has, with versions', async () => {
    const res = await fetch(`${svc.baseUrl}/v1/languages`);
    const body = (await res.json()) as { items: { name: string; versions: string[] }[] };
    expect(body.items.map((i) => i.name)).toEqual(expect.arrayContaining(['bash', 'javascript', 'python', 'typescript']));
    const python = body.items.find((i) => i.name === 'python')!;
    expect(python.versions[0]).toMatch(/^3\.\d+\.\d+/);
  });
});

describe('inputs', () => {
  it('gives stdin as a file the program can also open by path, in every launcher', async () => {
    const stdin = 'line one\nline two\n';
    const programs = {
      bash: 'cat /dev/stdin; wc -l < /proc/self/fd/0',
      python: 'import sys\nprint(open("/dev/stdin").read(), end="")\nprint(len(sys.stdin.readlines()))',
      javascript: 'const fs = require("fs");\nprocess.stdout.write(fs.readFileSync("/dev/stdin", "utf8"));\nconsole.log(fs.readFileSync(0, "utf8").split("\\n").length - 1);',
    };
    for (const [language, code] of Object.entries(programs)) {
      const ex = await runExecution(svc.baseUrl, { language, code, stdin });
      expect(ex.result?.stdout, language).toBe(`${stdin}2\n`);
    }
  });

  it('passes args and env, and none of the worker environment', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import os, sys\nprint(sys.argv[1:])\nprint(os.environ["GREETING"])\nprint(sorted(os.environ))',
      args: ['one', 'two words'],
      env: { GREETING: 'hi' },
    });
    expect(ex.status).toBe('succeeded');
    const [argv, greeting, names] = ex.result!.stdout.trim().split('\n');
    expect(argv).toBe("['one', 'two words']");
    expect(greeting).toBe('hi');
    expect(names).not.toContain('SANDQ_TEST_CANARY');
    expect(ex.result!.stdout).not.toContain(CANARY);
  });

  it('does not show the worker environment through /proc/1/environ', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: 'cat /proc/1/environ /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; echo done',
    });
    expect(ex.result?.stdout).toContain('done');
    expect(ex.result?.stdout).not.toContain(CANARY);
  });

  it('writes files, nested and base64, into the work dir', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import csv\nrows = list(csv.reader(open("data/in.csv")))\nprint(rows)\nprint(open("bin.dat","rb").read())',
      files: [
        { path: 'data/in.csv', content: 'a,b\n1,2\n' },
        { path: 'bin.dat', content: Buffer.from([0, 255, 10]).toString('base64'), encoding: 'base64' },
      ],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout).toBe("[['a', 'b'], ['1', '2']]\nb'\\x00\\xff\\n'\n");
  });

  it('lets the program import a module it was given', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import helper\nprint(helper.answer())',
      files: [{ path: 'helper.py', content: 'def answer():\n    return 42\n' }],
    });
    expect(ex.result?.stdout).toBe('42\n');
  });

  it('returns artifacts matching the requested patterns, base64', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import os\nos.makedirs("out/deep")\nopen("out/a.bin","wb").write(bytes([0,1,2]))\nopen("out/deep/b.txt","w").write("b")\nopen("skip.txt","w").write("no")',
      artifacts: ['out/**'],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result!.artifacts.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'out/a.bin', size: 3, encoding: 'base64', content: Buffer.from([0, 1, 2]).toString('base64') },
      { path: 'out/deep/b.txt', size: 1, encoding: 'base64', content: Buffer.from('b').toString('base64') },
    ]);
  });

  it('keeps metadata', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'true', metadata: { userId: '42' } });
    expect(ex.metadata).toEqual({ userId: '42' });
  });
});

describe("the user's failures are completed executions", () => {
  it('reports a non-zero exit as failed, without retrying', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'import sys\nprint("partial")\nsys.exit(3)' });
    expect(ex.status).toBe('failed');
    expect(ex.result).toMatchObject({ exitCode: 3, signal: null, stdout: 'partial\n' });
    expect(ex.attempts).toBe(1);
    expect(ex.error).toBeNull();
  });

  it('reports a python syntax error with its traceback', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'def broken(:\n  pass' });
    expect(ex.status).toBe('failed');
    expect(ex.result?.exitCode).toBe(1);
    expect(ex.result?.stderr).toContain('SyntaxError');
  });

  it('reports a typescript syntax error from the transpiler', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'typescript', code: 'const x: number = ;' });
    expect(ex.status).toBe('failed');
    expect(ex.result?.stderr).toMatch(/Unexpected ";"/);
  });

  it('reports death by a signal', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo before; kill -9 $$' });
    expect(ex.status).toBe('failed');
    expect(ex.result).toMatchObject({ exitCode: 137, signal: 'SIGKILL', stdout: 'before\n' });
  });
});

describe('limits', () => {
  it('times out and kills everything the program started', async () => {
    const marker = `sleep-${process.pid}-${Date.now() % 100000}`;
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      // A detached grandchild in its own session, and the main program, both outlive the timeout.
      code: `cp /usr/bin/sleep ./${marker}; setsid ./${marker} 300 & echo started; ./${marker} 300`,
      limits: { timeoutMs: 700 },
    });
    expect(ex.status).toBe('timed_out');
    expect(ex.result).toMatchObject({ exitCode: null, signal: 'SIGKILL', stdout: 'started\n' });
    expect(ex.result!.durationMs).toBeGreaterThanOrEqual(700);
    expect(processesNamed(marker)).toEqual([]);
  });

  it('stops a program that writes past the output cap', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000)',
      limits: { maxOutputBytes: 4096 },
    });
    expect(ex.status).toBe('output_exceeded');
    expect(ex.result?.stdout).toBe('x'.repeat(4096));
    expect(ex.result).toMatchObject({ stdoutTruncated: true, stderrTruncated: false, exitCode: null });
  });

  it('caps stderr the same way', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: 'yes err 1>&2',
      limits: { maxOutputBytes: 100 },
    });
    expect(ex.status).toBe('output_exceeded');
    expect(ex.result?.stderr).toHaveLength(100);
    expect(ex.result?.stderrTruncated).toBe(true);
  });

  it('counts the program and its children against maxProcesses, nothing of the sandbox itself', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import os, time\nn = 0\ntry:\n    while n < 50:\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\nexcept BlockingIOError:\n    pass\nprint(n)',
      limits: { maxProcesses: 5 },
    });
    // The program itself is one of the five.
    expect(ex.result?.stdout).toBe('4\n');
    const shell = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo "$(echo sub)"', limits: { maxProcesses: 2 } });
    expect(shell.result?.stdout).toBe('sub\n');
  });

  it('runs the next job normally after those', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: 'print("still fine")' });
    expect(ex.result?.stdout).toBe('still fine\n');
  });
});

describe('sandbox boundaries', () => {
  it('has no network but loopback, and a read-only system', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: 'ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1; touch /usr/x 2>/dev/null || echo usr-ro; ls /',
    });
    const lines = ex.result!.stdout.split('\n').map((l) => l.trim());
    expect(lines).toContain('lo');
    expect(lines).not.toContain('eth0');
    expect(lines).toContain('usr-ro');
    expect(lines).not.toContain('root');
    expect(lines).not.toContain('home');
  });

  it('removes the work dir after the job', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo x > left-behind.txt' });
    expect(ex.status).toBe('succeeded');
    // The sandbox is removed just after the result is stored.
    const listing = () => execFileSync('find', [svc.config.SANDBOX_WORK_ROOT, '-name', 'left-behind.txt']).toString();
    const deadline = Date.now() + 20_000;
    while (listing() !== '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(listing()).toBe('');
  });
});

describe('reading results', () => {
  it('long-polls: ?wait returns as soon as the execution finishes', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'sleep 1; echo done' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(res.headers.get('location')).toBe(`/v1/executions/${id}`);
    const started = Date.now();
    const waitSeconds = 20;
    const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=${waitSeconds}`)).json()) as { status: string; result: { stdout: string } };
    expect(ex.status).toBe('succeeded');
    expect(ex.result.stdout).toBe('done\n');
    // At the finish, not at the end of the wait (a one-second job leaves a wide margin for load).
    expect(Date.now() - started).toBeLessThan(waitSeconds * 1000 - 2000);
  });

  it('answers an unfinished execution after the wait runs out', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'sleep 4' });
    const { id } = (await res.json()) as { id: string };
    const ex = (await (await fetch(`${svc.baseUrl}/v1/executions/${id}?wait=1`)).json()) as { status: string; result: unknown };
    expect(['queued', 'running']).toContain(ex.status);
    expect(ex.result).toBeNull();
  });

  it('returns output that is not UTF-8 exactly in base64, and flags its replacement in text', async () => {
    const code = 'import sys\nsys.stdout.buffer.write(bytes([0xff, 0xfe, 0x00, 0x41]))\nsys.stderr.write("é ok")';
    const exact = await runExecution(svc.baseUrl, { language: 'python', code, outputEncoding: 'base64' });
    expect(exact.status).toBe('succeeded');
    expect(exact.result).toMatchObject({ stdoutEncoding: 'base64', stderrEncoding: 'base64' });
    expect([...Buffer.from(exact.result!.stdout, 'base64')]).toEqual([0xff, 0xfe, 0x00, 0x41]);
    expect(Buffer.from(exact.result!.stderr, 'base64').toString('utf8')).toBe('é ok');
    const text = await runExecution(svc.baseUrl, { language: 'python', code });
    expect(text.result).toMatchObject({ stdout: '\uFFFD\uFFFD\0A', stdoutEncoding: 'utf8-replaced', stderr: 'é ok', stderrEncoding: 'utf8' });
    // A compile's output too.
    const compiled = await runExecution(svc.baseUrl, { language: 'c', code: '#warning "compiled"\nint main(void) { return 0; }', outputEncoding: 'base64' });
    expect(compiled.status).toBe('succeeded');
    expect(compiled.result?.compile).toMatchObject({ stdoutEncoding: 'base64', stderrEncoding: 'base64' });
    expect(Buffer.from(compiled.result!.compile!.stderr, 'base64').toString('utf8')).toContain('#warning');
    const refused = await postJson(svc.baseUrl, '/v1/executions', { language: 'python', code, outputEncoding: 'latin1' });
    expect(refused.status).toBe(400);
  });

  it('serves Bull Board with the executions queue', async () => {
    const page = await fetch(`${svc.baseUrl}/admin/queues`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${svc.baseUrl}/admin/queues/api/queues`);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toContain('executions');
  });
});

function processesNamed(name: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', name]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
