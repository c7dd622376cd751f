import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../../helpers/service.js';

/**
 * Attacks on test cases: a grader's expected output and other cases' inputs
 * are what a submission would like to read, and what one case leaves
 * behind is what it would like the next to see.
 */

/**
 * Searches what a case can see for "expected-9f2c1e-secret", a string its
 * own code and arguments never hold whole: its files, temp dirs, and every
 * process's environment and command line.
 */
const SEARCH = `import base64, os
needle = ("expected-9f2c1e-" + base64.b64decode("c2VjcmV0").decode()).encode()
found = []
for top in ("/work", "/work-base", "/tmp", "/dev/shm"):
    for folder, _, names in os.walk(top):
        for name in names:
            try:
                if needle in open(os.path.join(folder, name), "rb").read(): found.append(os.path.join(folder, name))
            except OSError:
                pass
for pid in filter(str.isdigit, os.listdir("/proc")):
    for part in ("environ", "cmdline"):
        try:
            if needle in open(f"/proc/{pid}/{part}", "rb").read(): found.append(part)
        except OSError:
            pass
print(sorted(found))`;

// Both runners speak the same protocol and must hold the same line: Python's (where python3 is here) and bash's.
describe.each(['auto', 'bash'])('test cases, CASE_RUNNER=%s', (caseRunner) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ CASE_RUNNER: caseRunner });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('never put the expected output where a case could read it', async () => {
    const ex = await runExecution(svc.baseUrl, { language: 'python', code: SEARCH, tests: [{ expectedStdout: 'expected-9f2c1e-secret' }] });
    expect(ex.result!.tests![0]).toMatchObject({ status: 'wrong_answer', stdout: '[]\n' });
    // The search finds the string where it is: in the job's own files.
    const control = await runExecution(svc.baseUrl, { language: 'python', code: SEARCH, files: [{ path: 'x', content: 'expected-9f2c1e-secret' }], tests: [{}] });
    expect(control.result!.tests![0]!.stdout).toBe("['/work-base/x', '/work/x']\n");
  });

  it('show no case another case\'s stdin', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: `read mine; sleep 0.2; for n in 0 1 2; do [ "case-$n-input" = "$mine" ] && continue; grep -rlaF -- "case-$n-input" /work /work-base /tmp 2>/dev/null; done; echo clean`,
      tests: [0, 1, 2].map((n) => ({ stdin: `case-${n}-input\n`, expectedStdout: 'clean' })),
    });
    expect(ex.result!.tests!.map((row) => row.stdout)).toEqual(['clean\n', 'clean\n', 'clean\n']);
  });

  it('cannot change what the next case starts from: the job\'s work dir is read-only to them, /work their own copy', async () => {
    const code = 'ls; rm -f data.txt main.sh; touch /work-base/planted 2>/dev/null && echo planted; mount -o remount,rw /work-base 2>/dev/null && echo remounted; true';
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code, files: [{ path: 'data.txt', content: 'x' }], tests: [{}, {}] });
    for (const row of ex.result!.tests!) expect(row.stdout).toBe('data.txt\nmain.sh\n');
  });

  it('charge what a case writes to the job\'s memory: a case filling /work ends memory_exceeded, and the next runs normally', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: 'read n; [ "$n" = fill ] && { head -c 300000000 /dev/zero > big; stat -c %s big; }; echo ok',
      limits: { memoryMb: 64, maxFileBytes: 1024 ** 3 },
      tests: [{ stdin: 'fill', expectedStdout: 'ok' }, { stdin: 'no', expectedStdout: 'ok' }],
    });
    const [fill, next] = ex.result!.tests!;
    // tmpfs /work is sized to the job's memory: the write stops there (ENOSPC), or the cgroup kills the case.
    if (fill!.status !== 'memory_exceeded') expect(Number(fill!.stdout.split('\n')[0])).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(next).toMatchObject({ status: 'passed', stdout: 'ok\n' });
  });

  it('cannot reach the runner that runs them, though it is their uid: no signal, no /proc look inside, and the next case runs as if nothing happened', async () => {
    const attack = [
      // The kernel takes these (kill says 0) and drops them: pid 1 has no handler. Had it stopped, this case would hang.
      'kill -9 1',
      'kill -STOP 1',
      'for f in mem environ fd/0 fd/1 fd/7; do head -c1 /proc/1/$f >/dev/null 2>&1 && echo "read $f"; done',
      'echo x 2>/dev/null > /proc/1/mem && echo wrote-mem',
      'ls /proc/1/fd 2>/dev/null',
      'echo done',
    ].join('; ');
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code: 'read n; if [ "$n" = attack ]; then ' + attack + '; else echo "case $n"; fi', tests: [{ stdin: 'attack', expectedStdout: 'done' }, { stdin: '2', expectedStdout: 'case 2' }] });
    expect(ex.result!.tests!.map((row) => [row.status, row.stdout])).toEqual([
      ['passed', 'done\n'],
      ['passed', 'case 2\n'],
    ]);
  });

  it('leave nothing running, nor anything in /work, /tmp, /dev/shm or IPC, for the next case', async () => {
    // The first case leaves a writer behind, a directory it cannot write, System V objects and a message queue; the second looks.
    const leave = [
      '(while :; do echo late >> /tmp/late; sleep 0.05; done) &',
      'mkdir -p locked/inner && touch locked/inner/f && chmod 0 locked/inner locked',
      'echo x > /dev/shm/shared',
      'ipcmk -M 4096 >/dev/null && ipcmk -S 1 >/dev/null && ipcmk -Q >/dev/null',
      ': > /dev/mqueue/queue',
      'echo "ipc $(ipcs -m -s -q | grep -c "^0x") $(ls /dev/mqueue)"',
    ].join('\n');
    // A writer left running would have written /tmp/late again by the time this looks.
    const look = ['sleep 0.3', 'ls -A /work /tmp /dev/shm /dev/mqueue', 'echo "ipc $(ipcs -m -s -q | grep -c "^0x")"'].join('\n');
    const ex = await runExecution(svc.baseUrl, {
      language: 'bash',
      code: `read n\nif [ "$n" = leave ]; then\n${leave}\nelse\n${look}\nfi`,
      tests: [
        { stdin: 'leave', expectedStdout: 'ipc 3 queue' },
        { stdin: 'look', expectedStdout: '/dev/mqueue:\n\n/dev/shm:\n\n/tmp:\n\n/work:\nmain.sh\nipc 0' },
      ],
    });
    expect(ex.result!.tests!.map((row) => [row.status, row.stdout])).toEqual([
      ['passed', 'ipc 3 queue\n'],
      ['passed', '/dev/mqueue:\n\n/dev/shm:\n\n/tmp:\n\n/work:\nmain.sh\nipc 0\n'],
    ]);
  });

  it('cannot pass for the runner: output written after the program ends, and text like the runner\'s, stay the case\'s', async () => {
    const code = 'read n; printf "S0;R1F%032d" 0; echo; printf "%032x" 0 >&2; (sleep 0.3; echo late-$n) & echo main-$n';
    const ex = await runExecution(svc.baseUrl, { language: 'bash', code, tests: [{ stdin: '1' }, { stdin: '2' }] });
    for (const [i, row] of ex.result!.tests!.entries()) {
      expect(row.stdout).toBe(`S0;R1F${'0'.repeat(32)}\nmain-${i + 1}\n`);
      expect(row.stderr).toBe('0'.repeat(32));
    }
  });
});
