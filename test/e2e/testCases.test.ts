import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCaseResult } from '../../src/shared/contract/testCases.js';
import { postJson, runExecution, startTestService, type TestService } from '../helpers/service.js';
import { SseClient } from '../helpers/sse.js';

/** Test cases in one submission: compiled once, each case in a fresh sandbox state, judged by its expected output. */
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({ MAX_TEST_CASES: '8' });
});
afterAll(async () => {
  await svc?.stop();
});

/** Reads two integers and prints their sum; spins forever on a negative first one; exits 3 on a zero. */
const SUM_C = `#include <stdio.h>
int main(void) {
  long a, b;
  if (scanf("%ld %ld", &a, &b) != 2) return 2;
  if (a == 0) return 3;
  while (a < 0) { }
  printf("%ld\\n", a + b);
  return 0;
}
`;

const statuses = (rows: TestCaseResult[] | null) => rows?.map((row) => row.status);

describe('a test-case submission', () => {
  it('compiles once and runs each case, with a row per case and a summary; succeeded only when all pass', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'c',
      code: SUM_C,
      limits: { timeoutMs: 5000 },
      tests: [
        { name: 'small', stdin: '1 2\n', expectedStdout: '3\n' },
        { name: 'wrong', stdin: '2 2\n', expectedStdout: '5\n' },
        { name: 'spins', stdin: '-1 0\n', expectedStdout: '', timeoutMs: 300 },
        { name: 'exits 3', stdin: '0 0\n', expectedStdout: '0\n' },
        { stdin: '40 2', expectedStdout: '42' },
      ],
    });
    expect(ex.status).toBe('failed');
    const result = ex.result!;
    expect(result.compile).toMatchObject({ exitCode: 0 });
    expect(statuses(result.tests)).toEqual(['passed', 'wrong_answer', 'timed_out', 'failed', 'passed']);
    expect(result.summary).toEqual({ passed: 2, total: 5 });
    const [small, wrong, spins, failed, unnamed] = result.tests!;
    expect(small).toMatchObject({ name: 'small', stdout: '3\n', exitCode: 0, firstDifference: null, limit: null });
    expect(small!.cpuTimeMs).not.toBeNull();
    expect(small!.memoryPeakBytes).toBeGreaterThan(0);
    expect(wrong!.firstDifference).toEqual({ line: 1, expected: '5', actual: '4' });
    expect(spins).toMatchObject({ limit: 'timeoutMs', exitCode: null });
    expect(failed).toMatchObject({ exitCode: 3 });
    expect(unnamed).toMatchObject({ name: null, stdout: '42\n' });

    const passing = await runExecution(svc.baseUrl, { language: 'c', code: SUM_C, tests: [{ stdin: '1 1', expectedStdout: '2' }, { stdin: '5 5', expectedStdout: '10' }] });
    // Rows in base64 are still judged as text.
    const encoded = await runExecution(svc.baseUrl, { language: 'c', code: SUM_C, outputEncoding: 'base64', tests: [{ stdin: '1 1', expectedStdout: '2' }, { stdin: '2 2', expectedStdout: '5' }] });
    expect(statuses(encoded.result!.tests)).toEqual(['passed', 'wrong_answer']);
    expect(encoded.result!.tests![0]).toMatchObject({ stdout: Buffer.from('2\n').toString('base64'), stdoutEncoding: 'base64', stderrEncoding: 'base64' });
    expect(passing.status).toBe('succeeded');
    expect(passing.result!.summary).toEqual({ passed: 2, total: 2 });
  });

  it('gives every case a fresh sandbox state: nothing a case writes, in /work or /tmp, is seen by the next', async () => {
    const code = 'import os\nseen = [p for p in ("mark", "/tmp/mark") if os.path.exists(p)]\nprint("seen:", seen)\nopen("mark", "w").write("x")\nopen("/tmp/mark", "w").write("x")\nopen("data.txt", "a").write("more")\nprint(open("data.txt").read())';
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code,
      files: [{ path: 'data.txt', content: 'base' }],
      tests: [{}, {}, {}],
    });
    expect(ex.status).toBe('succeeded');
    for (const row of ex.result!.tests!) expect(row.stdout).toBe('seen: []\nbasemore\n');
  });

  it('passes each case its own args and stdin (or the request\'s), and compares as asked', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: 'import sys\nprint(*sys.argv[1:], sys.stdin.read().strip())\nprint(1 / 3)',
      stdin: 'shared',
      args: ['a'],
      comparison: { mode: 'float', tolerance: 1e-3 },
      tests: [
        { expectedStdout: 'a shared\n0.333' },
        { args: ['b', 'c'], stdin: 'own', expectedStdout: 'b c own 0.3334' },
        { expectedStdout: 'a shared\n0.34' },
      ],
    });
    expect(statuses(ex.result!.tests)).toEqual(['passed', 'passed', 'wrong_answer']);
    const tokens = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo "1   2"; echo 3', comparison: { mode: 'tokens' }, tests: [{ expectedStdout: '1 2 3' }] });
    expect(tokens.status).toBe('succeeded');
    const exact = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo "3 "', comparison: { mode: 'exact' }, tests: [{ expectedStdout: '3\n' }] });
    expect(statuses(exact.result!.tests)).toEqual(['wrong_answer']);
  });

  it('sends an SSE event as each case ends, before done', async () => {
    const res = await postJson(svc.baseUrl, '/v1/executions', {
      language: 'bash',
      code: 'read n; sleep 0.2; echo $((n * 2))',
      tests: [{ stdin: '1', expectedStdout: '2' }, { stdin: '2', expectedStdout: '4' }, { stdin: '3', expectedStdout: '7' }],
    });
    const { id } = (await res.json()) as { id: string };
    const client = await SseClient.connect(`${svc.baseUrl}/v1/executions/${id}/events`);
    const done = await client.waitFor((e) => e.event === 'done', 60_000);
    const tests = client.named('test');
    expect(tests.map((e) => JSON.parse(e.data) as { index: number; status: string }).map(({ index, status }) => [index, status])).toEqual([
      [0, 'passed'],
      [1, 'passed'],
      [2, 'wrong_answer'],
    ]);
    expect(client.events.indexOf(tests[2]!)).toBeLessThan(client.events.indexOf(done));
    expect((JSON.parse(done.data) as { status: string }).status).toBe('failed');
  });

  it('runs cases of a program limited to one process (sandq\'s own start-up does not count), compiled with room for the compiler', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'c', code: SUM_C, limits: { maxProcesses: 1 }, tests: [{ stdin: '1 1', expectedStdout: '2' }, { stdin: '2 2', expectedStdout: '4' }] });
    expect(ex.status).toBe('succeeded');
    // The program itself may not fork (bash retries a refused fork until its time is up).
    const forks = await runExecution(svc.baseUrl, { language: 'bash', code: 'echo $(echo sub)', limits: { maxProcesses: 1, timeoutMs: 2000 }, tests: [{ expectedStdout: 'sub' }] });
    expect(['failed', 'timed_out']).toContain(forks.result!.tests![0]!.status);
    expect(forks.result!.tests![0]!.stdout).not.toContain('sub');
  });

  it('ends compile_failed without running any case when the compile fails', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'c', code: 'int main(void) { return nope; }', tests: [{ expectedStdout: '' }] });
    expect(ex.status).toBe('compile_failed');
    expect(ex.result!.tests).toBeNull();
  });

  it('refuses too many cases, a case timeout above the job\'s, and a comparison without cases, naming the field', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const res = await postJson(svc.baseUrl, '/v1/executions', { language: 'bash', code: 'true', ...body });
      expect(res.status).toBe(400);
      return ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
    };
    expect(await refused({ tests: Array.from({ length: 9 }, () => ({})) })).toEqual(['tests']);
    expect(await refused({ tests: [] })).toEqual(['tests']);
    expect(await refused({ limits: { timeoutMs: 1000 }, tests: [{}, { timeoutMs: 1001 }] })).toEqual(['tests[1].timeoutMs']);
    expect(await refused({ comparison: { mode: 'tokens' } })).toEqual(['comparison']);
    expect(await refused({ tests: [{ expected: 'x' }] })).toEqual(['tests[0].expected']);
  });
});

/** Programs whose every visible trait (exit status, streams, argv, environment, signal dispositions, interpreter exit) a case must show as a single run does. */
const AS_A_SINGLE_RUN: { language: string; code: string }[] = [
  {
    language: 'python',
    code: [
      'import atexit, os, sys, threading, time',
      'atexit.register(lambda: print("atexit ran"))',
      'threading.Thread(target=lambda: (time.sleep(0.1), print("thread joined"))).start()',
      'print(sys.argv, sorted(os.environ), __name__, sys.path[0])',
      'sys.stdout.write("unflushed")',
      'raise SystemExit(3)',
    ].join('\n'),
  },
  { language: 'python', code: 'def f():\n    return 1 / 0\nprint("before")\nf()' },
  { language: 'python', code: 'import os, sys\nsys.stdout.write("gone")\nos._exit(5)' },
  { language: 'python', code: 'raise SystemExit("a message")' },
  { language: 'bash', code: 'grep -E "^(SigIgn|SigBlk|SigCgt)" /proc/self/status; env | sort; echo "$0 $*"; exit 7' },
  { language: 'c', code: '#include <signal.h>\n#include <stdio.h>\nint main(int argc, char **argv) { struct sigaction a; sigaction(SIGPIPE, 0, &a); printf("%d %s %d\\n", argc, argv[0], a.sa_handler == SIG_DFL); return 9; }\n' },
  { language: 'javascript', code: 'console.log(process.argv.length, Object.keys(process.env).sort().join(","));\nprocess.exitCode = 4;' },
];

describe.each(['auto', 'bash'])('a case, CASE_RUNNER=%s', (caseRunner) => {
  let runnerSvc: TestService;
  beforeAll(async () => {
    runnerSvc = await startTestService({ CASE_RUNNER: caseRunner });
  });
  afterAll(async () => {
    await runnerSvc?.stop();
  });

  it.each(AS_A_SINGLE_RUN.map((program, i) => [i, program] as const))('looks like a single run of the same program (%i)', async (_, program) => {
    const body = { ...program, args: ['one', 'two'], env: { JOB_VAR: 'x' } };
    const single = await runExecution(runnerSvc.baseUrl, body);
    const asCase = await runExecution(runnerSvc.baseUrl, { ...body, tests: [{}] });
    const row = asCase.result!.tests![0]!;
    expect({ stdout: row.stdout, stderr: row.stderr, exitCode: row.exitCode, signal: row.signal }).toEqual({
      stdout: single.result!.stdout,
      stderr: single.result!.stderr,
      exitCode: single.result!.exitCode,
      signal: single.result!.signal,
    });
  });
});

