import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExecution, startTestService, type TestService } from '../../helpers/service.js';

/**
 * System calls that the seccomp allowlist does not name, as a real job through
 * the API and the worker into a sandbox: calls newer than the kernel headers
 * the allowlist was written against, and a number no kernel has assigned yet.
 * With these arguments the kernel itself never answers EPERM (EFAULT, or
 * success for mseal of nothing; ENOSYS where it lacks the call): an EPERM
 * is the filter refusing the call.
 */
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({
    // Its own sandbox uids and work dirs, apart from test files that count theirs.
  });
});
afterAll(async () => {
  await svc?.stop();
});
afterEach(async () => {
  // The worker stays healthy: the next job on it runs normally.
  const next = await runExecution(svc.baseUrl, { language: 'python', code: 'print("next job ok")' });
  expect(next.status).toBe('succeeded');
  expect(next.result?.stdout).toBe('next job ok\n');
});

/** Numbers from 424 on are shared by every architecture. */
const UNLISTED_SYSCALLS = {
  statmount: 457,
  listmount: 458,
  lsm_list_modules: 461,
  mseal: 462,
  open_tree_attr: 467,
  unassigned: 500,
};

describe('system calls the allowlist does not name', () => {
  it('are refused with EPERM, whatever their number', async () => {
    const ex = await runExecution(svc.baseUrl, {
      language: 'python',
      code: `
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
zero = ctypes.c_long(0)
for name, nr in ${JSON.stringify(Object.entries(UNLISTED_SYSCALLS))}:
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), zero, zero, zero, zero, zero, zero)
    print(f"{name}:{'ok' if rc != -1 else errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())}")
`,
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.result?.stdout.trim().split('\n')).toEqual(Object.keys(UNLISTED_SYSCALLS).map((name) => `${name}:EPERM`));
  });
});
