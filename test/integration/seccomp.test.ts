import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { version as esbuildVersion } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SYSCALLS } from '../../src/worker/sandbox/local/seccomp/allowedSyscalls.js';
import { encodeProgram, jumpIfEqual, load, ret } from '../../src/worker/sandbox/local/seccomp/bpf.js';
import { NEVER_ALLOWED_SYSCALLS } from '../../src/worker/sandbox/local/seccomp/neverAllowedSyscalls.js';
import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from '../../src/worker/sandbox/local/seccomp/syscallNumbers.js';
import {
  allowedSyscallsFor,
  buildSeccompFilter,
  describeSeccompFilter,
  UnsupportedArchitectureError,
} from '../../src/worker/sandbox/local/seccomp/seccompFilter.js';

const X86_64_HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const ASM_GENERIC_HEADER = '/usr/include/asm-generic/unistd.h';
/** What arch/arm64/include/uapi/asm/unistd.h defines before it includes asm-generic/unistd.h. */
const AARCH64_WANTS = [
  '__ARCH_WANT_RENAMEAT', '__ARCH_WANT_NEW_STAT', '__ARCH_WANT_SET_GET_RLIMIT', '__ARCH_WANT_TIME32_SYSCALLS', '__ARCH_WANT_SYS_CLONE3',
  '__ARCH_WANT_MEMFD_SECRET',
];

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_I386 = 0x40000003;
const KILL_PROCESS = 0x80000000;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050000 | 1;
const ENOSYS = 0x00050000 | 38;

/** The calls the filter must refuse whatever else changes. */
const REQUIRED_DENIALS = [
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount2', 'pivot_root', 'move_mount', 'open_tree',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'keyctl', 'add_key', 'request_key', 'bpf',
  'perf_event_open', 'unshare', 'setns', 'kexec_load', 'kexec_file_load', 'io_uring_setup', 'io_uring_enter',
  'io_uring_register', 'userfaultfd', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'swapoff',
  'acct', 'quotactl', 'quotactl_fd', 'syslog', 'open_by_handle_at', 'name_to_handle_at', 'chroot', 'sethostname',
  'setdomainname', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'vhangup', 'lookup_dcookie', 'kcmp',
  'fanotify_init', 'pidfd_getfd', 'process_madvise', 'uselib', 'ustat', 'sysfs', '_sysctl', 'iopl', 'ioperm',
];

/** Allowed only with some arguments, so on neither list. */
const JUDGED_BY_ARGUMENTS = ['clone', 'clone3', 'ioctl', 'socket', 'personality'];

/**
 * Every call python3, node, bash with coreutils, grep, find and procps,
 * esbuild (a static Go binary), gcc, g++, javac, java and rustc made under
 * strace -f on x86_64, less those judged by their arguments and procps's
 * NUMA probes (get_mempolicy, set_mempolicy), which it survives without.
 */
const SEEN_IN_RUNTIMES = [
  'access', 'arch_prctl', 'brk', 'capget', 'chdir', 'chmod', 'clock_getres', 'clock_nanosleep', 'close', 'close_range',
  'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'epoll_wait',
  'eventfd2', 'execve', 'exit', 'exit_group', 'faccessat2', 'fadvise64', 'fchdir', 'fcntl', 'flock', 'fstat', 'fstatfs',
  'ftruncate', 'futex', 'getcwd', 'getdents64', 'getegid', 'geteuid', 'getgid', 'getgroups', 'getpeername', 'getpgrp',
  'getpid', 'getppid', 'getrandom', 'getrusage', 'getsockname', 'gettid', 'getuid', 'getxattr', 'lgetxattr', 'link',
  'lseek', 'lstat', 'madvise', 'mkdir', 'mmap', 'mprotect', 'munmap', 'nanosleep', 'newfstatat', 'open', 'openat',
  'pipe2', 'pkey_alloc', 'poll', 'prctl', 'pread64', 'prlimit64', 'read', 'readlink', 'recvfrom', 'rename',
  'restart_syscall', 'rseq', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'sched_getaffinity', 'sched_yield',
  'set_robust_list', 'set_tid_address', 'setsockopt', 'shutdown', 'sigaltstack', 'socketpair', 'stat', 'statfs', 'statx',
  'sysinfo', 'tgkill', 'umask', 'uname', 'unlink', 'unlinkat', 'vfork', 'wait4', 'write',
];

/**
 * Calls of kernels newer than the 6.1 headers, and a number none has
 * assigned: none is in the tables, so each must be refused. Numbers from 424
 * on are shared by every architecture.
 */
const UNLISTED_SYSCALLS = { statmount: 457, listmount: 458, lsm_list_modules: 461, mseal: 462, open_tree_attr: 467, unassigned: 500 };

// --- kernel headers -------------------------------------------------------

function readHeader(file: string): string {
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: install linux-libc-dev (sudo apt-get install linux-libc-dev), whose syscall tables this test checks the seccomp filter against`);
  }
  return readFileSync(file, 'utf8');
}

/** Evaluates a preprocessor #if condition made of defined(X), numbers, !, ==, !=, &&, || and parentheses. */
function evaluateCondition(condition: string, isDefined: (name: string) => boolean): boolean {
  const source = condition
    .replace(/defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)/g, (_, a?: string, b?: string) => (isDefined((a ?? b)!) ? '1' : '0'))
    .replace(/\b__BITS_PER_LONG\b/g, '64')
    .replace(/\b[A-Za-z_]\w*\b/g, '0');
  const tokens = source.match(/\d+|==|!=|&&|\|\||!|\(|\)/g) ?? [];
  if (tokens.join('') !== source.replace(/\s+/g, '')) throw new Error(`cannot evaluate #if ${condition}`);
  let at = 0;
  const primary = (): number => {
    const token = tokens[at++];
    if (token === '!') return primary() ? 0 : 1;
    if (token === '(') {
      const value = or();
      if (tokens[at++] !== ')') throw new Error(`unbalanced #if ${condition}`);
      return value;
    }
    if (token !== undefined && /^\d+$/.test(token)) return Number(token);
    throw new Error(`cannot evaluate #if ${condition}`);
  };
  const equality = (): number => {
    let value = primary();
    while (tokens[at] === '==' || tokens[at] === '!=') {
      const op = tokens[at++];
      const right = primary();
      value = (op === '==') === (value === right) ? 1 : 0;
    }
    return value;
  };
  const and = (): number => {
    let value = equality();
    while (tokens[at] === '&&') {
      at++;
      value = equality() && value ? 1 : 0;
    }
    return value;
  };
  const or = (): number => {
    let value = and();
    while (tokens[at] === '||') {
      at++;
      value = and() || value ? 1 : 0;
    }
    return value;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`cannot evaluate #if ${condition}`);
  return result !== 0;
}

/** `__NR_name` → number, following #if/#ifdef/#else like the C preprocessor would for a 64-bit target. */
function syscallsFromHeader(text: string, predefined: string[] = []): Map<string, number> {
  const macros = new Map<string, string>(predefined.map((name) => [name, '']));
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((level) => level.active);
  const open = (condition: boolean) => stack.push({ active: condition, taken: condition });
  for (const line of text.replace(/\/\*[\s\S]*?\*\//g, '').split('\n')) {
    const directive = /^\s*#\s*(\w+)\s*(.*?)\s*$/.exec(line);
    if (!directive) continue;
    const [, keyword, rest = ''] = directive;
    const top = stack.at(-1);
    switch (keyword) {
      case 'ifdef':
        open(macros.has(rest));
        break;
      case 'ifndef':
        open(!macros.has(rest));
        break;
      case 'if':
        open(evaluateCondition(rest, (name) => macros.has(name)));
        break;
      case 'elif':
        if (!top) throw new Error('#elif without #if');
        top.active = !top.taken && evaluateCondition(rest, (name) => macros.has(name));
        top.taken ||= top.active;
        break;
      case 'else':
        if (!top) throw new Error('#else without #if');
        top.active = !top.taken;
        top.taken = true;
        break;
      case 'endif':
        if (!stack.pop()) throw new Error('#endif without #if');
        break;
      case 'define': {
        const [, name = '', value = ''] = /^(\w+)(?:\([^)]*\))?\s*(.*)$/.exec(rest) ?? [];
        if (active()) macros.set(name, value.trim());
        break;
      }
      case 'undef':
        if (active()) macros.delete(rest);
        break;
    }
  }
  const resolve = (value: string | undefined, depth = 0): number | undefined => {
    if (value === undefined || depth > 8) return undefined;
    if (/^\d+$/.test(value)) return Number(value);
    return /^\w+$/.test(value) ? resolve(macros.get(value), depth + 1) : undefined;
  };
  // Not calls: __NR_syscalls counts them, __NR_arch_specific_syscall is where an architecture's own begin.
  const notCalls = ['__NR_syscalls', '__NR_arch_specific_syscall'];
  const table = new Map<string, number>();
  for (const [name, value] of macros) {
    const number = name.startsWith('__NR_') && !notCalls.includes(name) ? resolve(value) : undefined;
    if (number !== undefined) table.set(name.slice('__NR_'.length), number);
  }
  return table;
}

// --- classic BPF, run in the test -------------------------------------------

interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

/** Runs a seccomp program as the kernel would, for architectures this host cannot execute. */
function runFilter(filter: Buffer, data: SeccompData): number {
  const input = Buffer.alloc(64);
  input.writeInt32LE(data.nr, 0);
  input.writeUInt32LE(data.arch, 4);
  (data.args ?? []).forEach((arg, index) => input.writeBigUInt64LE(arg, 16 + 8 * index));
  let accumulator = 0;
  const length = filter.length / 8;
  for (let pc = 0; pc < length; ) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter.readUInt8(pc * 8 + 2);
    const jf = filter.readUInt8(pc * 8 + 3);
    const k = filter.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: // ld [k]
        expect(k % 4 === 0 && k < 64, `load offset ${k}`).toBe(true);
        accumulator = input.readUInt32LE(k);
        pc += 1;
        break;
      case 0x15: // jeq #k
        pc += 1 + (accumulator === k ? jt : jf);
        break;
      case 0x25: // jgt #k
        pc += 1 + (accumulator > k ? jt : jf);
        break;
      case 0x35: // jge #k
        pc += 1 + (accumulator >= k ? jt : jf);
        break;
      case 0x45: // jset #k
        pc += 1 + ((accumulator & k) !== 0 ? jt : jf);
        break;
      case 0x06: // ret #k
        return k;
      default:
        throw new Error(`unexpected BPF opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('the program ran off its end');
}

// --- real sandboxes -----------------------------------------------------------

const BWRAP = '/usr/bin/bwrap';
const BWRAP_OPTIONS = [
  '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session',
  '--ro-bind', '/usr', '/usr',
  '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin',
  '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--chdir', '/tmp',
  '--cap-drop', 'ALL', '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'LANG', 'C.UTF-8',
];
/** Production runs sandboxes as an unprivileged identity; so does the test when it can. */
const IDENTITY = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

interface Sandboxed {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runSandboxed(command: string[], filter: Buffer | undefined, options: string[] = []): Promise<Sandboxed> {
  const args = [...BWRAP_OPTIONS, ...options, ...(filter ? ['--seccomp', '3'] : []), ...command];
  const child = spawn(BWRAP, args, { cwd: '/', env: {}, ...IDENTITY, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const filterPipe = child.stdio[3] as Writable;
  filterPipe.on('error', () => {});
  filterPipe.end(filter ?? Buffer.alloc(0));
  child.stdin.on('error', () => {});
  child.stdin.end();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Calls each syscall through ctypes and prints {name: [result, errno name]}.
 * Arguments are chosen so that, without the filter, the kernel answers with
 * something other than EPERM where it can (bad fd, missing path, bad flags):
 * an EPERM inside the filter is then the filter's doing.
 */
const PROBE = String.raw`
import ctypes, errno, json, os, sys
spec = json.loads(sys.argv[1])
NR = spec['syscalls']
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long
CLONE_NEWUSER = 0x10000000

def clone_newuser():
    r = libc.syscall(L(NR['clone']), L(CLONE_NEWUSER), L(0), L(0), L(0), L(0))
    if r == 0:
        os._exit(0)
    return r

char = ctypes.c_char(b'x')
count = ctypes.c_int(0)
calls = {
    'ptrace': lambda: libc.ptrace(L(2), 999999, None, None),
    'process_vm_readv': lambda: libc.process_vm_readv(os.getpid(), None, L(0), None, L(0), L(1)),
    'process_vm_writev': lambda: libc.process_vm_writev(os.getpid(), None, L(0), None, L(0), L(1)),
    'mount': lambda: libc.mount(b'none', b'/nonexistent', b'tmpfs', L(0), None),
    'umount2': lambda: libc.umount2(b'/nonexistent', 0),
    'chroot': lambda: libc.chroot(b'/nonexistent'),
    'unshare': lambda: libc.unshare(CLONE_NEWUSER),
    'setns': lambda: libc.setns(-1, 0),
    'sethostname': lambda: libc.sethostname(b'x', L(1)),
    'keyctl': lambda: libc.syscall(L(NR['keyctl']), L(9999), L(0), L(0), L(0), L(0)),
    'bpf': lambda: libc.syscall(L(NR['bpf']), L(9999), None, L(0)),
    'perf_event_open': lambda: libc.syscall(L(NR['perf_event_open']), None, L(0), L(-1), L(-1), L(-1)),
    'kexec_load': lambda: libc.syscall(L(NR['kexec_load']), L(0), L(0), None, L(0)),
    'io_uring_setup': lambda: libc.syscall(L(NR['io_uring_setup']), L(1), None),
    'userfaultfd': lambda: libc.syscall(L(NR['userfaultfd']), L(os.O_CLOEXEC | 1)),
    'clone_newuser': clone_newuser,
    'clone3': lambda: libc.syscall(L(NR['clone3']), None, L(0)),
    'ioctl_tiocsti': lambda: libc.ioctl(0, L(0x5412), ctypes.byref(char)),
    'ioctl_tioclinux': lambda: libc.ioctl(0, L(0x541C), ctypes.byref(char)),
    'ioctl_fionread': lambda: libc.ioctl(0, L(0x541B), ctypes.byref(count)),
    'personality_query': lambda: libc.personality(ctypes.c_ulong(0xffffffff)),
    'personality_no_aslr': lambda: libc.personality(ctypes.c_ulong(0x0040000)),
}
if spec['x32']:
    calls['x32_getpid'] = lambda: libc.syscall(L(0x40000000 | 39))
if spec['everyNeverAllowed']:
    for name in spec['neverAllowed']:
        calls['raw_' + name] = lambda nr=NR[name]: libc.syscall(L(nr), L(-1), L(-1), L(-1), L(-1), L(-1), L(-1))
for name, nr in spec['unlisted'].items():
    calls['unlisted_' + name] = lambda nr=nr: libc.syscall(L(nr), L(0), L(0), L(0), L(0), L(0), L(0))

results = {}
for name, call in calls.items():
    ctypes.set_errno(0)
    result = call()
    code = ctypes.get_errno()
    results[name] = [result, errno.errorcode.get(code, str(code)) if result == -1 else None]
print(json.dumps(results))
`;

type ProbeResults = Record<string, [number, string | null]>;

const HOST_SYSCALLS = process.arch === 'arm64' ? AARCH64_SYSCALLS : X86_64_SYSCALLS;
const HOST_NEVER_ALLOWED = NEVER_ALLOWED_SYSCALLS.filter((name) => HOST_SYSCALLS.has(name));

async function probe(filter: Buffer | undefined, everyNeverAllowed: boolean): Promise<ProbeResults> {
  const spec = {
    syscalls: Object.fromEntries(HOST_SYSCALLS),
    neverAllowed: HOST_NEVER_ALLOWED,
    everyNeverAllowed,
    unlisted: UNLISTED_SYSCALLS,
    x32: process.arch === 'x64',
  };
  const run = await runSandboxed(['/usr/bin/python3', '-c', PROBE, JSON.stringify(spec)], filter);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as ProbeResults;
}

// --- tests ----------------------------------------------------------------------

const ARCHITECTURES = [
  {
    arch: 'x64',
    auditArch: AUDIT_ARCH_X86_64,
    table: X86_64_SYSCALLS,
    header: () => syscallsFromHeader(readHeader(X86_64_HEADER)),
  },
  {
    arch: 'arm64',
    auditArch: AUDIT_ARCH_AARCH64,
    table: AARCH64_SYSCALLS,
    header: () => syscallsFromHeader(readHeader(ASM_GENERIC_HEADER), AARCH64_WANTS),
  },
] as const;

describe('syscall tables', () => {
  const listed = new Set([...ALLOWED_SYSCALLS, ...NEVER_ALLOWED_SYSCALLS, ...JUDGED_BY_ARGUMENTS]);

  for (const { arch, table, header } of ARCHITECTURES) {
    it(`have the ${arch} number of every call, as the kernel headers define it`, () => {
      const fromHeader = header();
      expect(fromHeader.size, 'header parsed').toBeGreaterThan(250);
      for (const [name, number] of table) expect({ name, number }).toEqual({ name, number: fromHeader.get(name) });
    });

    it(`leave out of ${arch} only listed calls the architecture does not have, and hold nothing unlisted`, () => {
      const fromHeader = header();
      expect([...listed].filter((name) => fromHeader.has(name) && !table.has(name))).toEqual([]);
      expect([...table.keys()].filter((name) => !listed.has(name))).toEqual([]);
    });
  }

  it('know aarch64 lacks the x86_64-only legacy calls, and has clone3 and memfd_secret', () => {
    const generic = syscallsFromHeader(readHeader(ASM_GENERIC_HEADER), AARCH64_WANTS);
    for (const name of ['uselib', 'ustat', 'sysfs', '_sysctl', 'iopl', 'ioperm', 'open', 'stat', 'fork']) expect(generic.has(name), name).toBe(false);
    expect(generic.get('clone3')).toBe(435);
    expect(generic.get('memfd_secret')).toBe(447);
    expect(generic.has('clock_settime64'), 'the 32-bit-only time64 block is skipped').toBe(false);
    expect(generic.has('syscalls'), '__NR_syscalls is a count, not a call').toBe(false);
  });
});

describe('the allowlist', () => {
  it('never allows what the service promises to refuse', () => {
    expect(NEVER_ALLOWED_SYSCALLS).toEqual(expect.arrayContaining(REQUIRED_DENIALS));
    expect(ALLOWED_SYSCALLS.filter((name) => NEVER_ALLOWED_SYSCALLS.includes(name))).toEqual([]);
    expect(ALLOWED_SYSCALLS.filter((name) => JUDGED_BY_ARGUMENTS.includes(name))).toEqual([]);
  });

  it('names each call once, and only calls one of the tables has', () => {
    for (const list of [ALLOWED_SYSCALLS, NEVER_ALLOWED_SYSCALLS]) {
      expect(new Set(list).size).toBe(list.length);
      for (const name of list) expect(X86_64_SYSCALLS.has(name) || AARCH64_SYSCALLS.has(name), name).toBe(true);
    }
  });

  it('is the whole list on x86_64 and skips the legacy calls on aarch64', () => {
    expect(allowedSyscallsFor('x64')).toEqual(ALLOWED_SYSCALLS);
    const arm64 = allowedSyscallsFor('arm64');
    for (const name of ['open', 'stat', 'fork', 'arch_prctl']) expect(arm64, name).not.toContain(name);
    for (const name of ['openat', 'newfstatat', 'execve', 'futex']) expect(arm64, name).toContain(name);
  });

  it('covers every call the runtimes and toolchains were seen to make', () => {
    for (const { arch, table } of ARCHITECTURES) {
      const allowed = allowedSyscallsFor(arch);
      const missing = SEEN_IN_RUNTIMES.filter((name) => (arch === 'x64' || table.has(name)) && !allowed.includes(name));
      expect({ arch, missing }).toEqual({ arch, missing: [] });
    }
  });

  it('is what the isolation report counts', () => {
    expect(describeSeccompFilter('x64')).toBe(
      `allowlist of ${ALLOWED_SYSCALLS.length} system calls (x64), and clone, ioctl, socket and personality by their arguments; everything else is refused`,
    );
    expect(describeSeccompFilter('arm64')).toMatch(new RegExp(`^allowlist of ${allowedSyscallsFor('arm64').length} system calls \\(arm64\\)`));
  });
});

describe('buildSeccompFilter', () => {
  it('is a whole number of 8-byte instructions that checks the architecture first', () => {
    for (const { arch, auditArch } of ARCHITECTURES) {
      const filter = buildSeccompFilter(arch);
      expect(filter.length % 8).toBe(0);
      // A couple of instructions per run of consecutive allowed numbers: far below BPF_MAXINSNS (4096).
      expect(filter.length / 8).toBeLessThan(200);
      // ld [4]; jeq #auditArch, +1, +0; ret #KILL_PROCESS; ld [0]
      expect([...filter.subarray(0, 32)]).toEqual([
        0x20, 0, 0, 0, 4, 0, 0, 0,
        0x15, 0, 1, 0, ...u32(auditArch),
        0x06, 0, 0, 0, ...u32(KILL_PROCESS),
        0x20, 0, 0, 0, 0, 0, 0, 0,
      ]);
    }
  });

  it('refuses programs the kernel would refuse', () => {
    expect(() => encodeProgram([])).toThrow();
    expect(() => encodeProgram([load(0)])).toThrow('must end with a return');
    expect(() => encodeProgram([jumpIfEqual(1, 0, 2), ret(ALLOW)])).toThrow('jumps 2');
    expect(() => encodeProgram([jumpIfEqual(1, 256, 0), ...Array.from({ length: 257 }, () => ret(ALLOW))])).toThrow('jumps 256');
    expect(encodeProgram([jumpIfEqual(1, 255, 0), ...Array.from({ length: 256 }, () => ret(ALLOW))]).length).toBe(257 * 8);
  });

  it('defaults to the architecture it runs on', () => {
    expect(buildSeccompFilter()).toEqual(buildSeccompFilter(process.arch));
  });

  it('refuses architectures it has no table for', () => {
    for (const arch of ['ia32', 'arm', 'riscv64', 's390x', 'ppc64', 'constructor']) {
      expect(() => buildSeccompFilter(arch)).toThrow(UnsupportedArchitectureError);
      expect(() => buildSeccompFilter(arch)).toThrow(`seccomp is not available on architecture ${arch}`);
    }
  });

  for (const { arch, auditArch, table, header } of ARCHITECTURES) {
    describe(`on ${arch}`, () => {
      const filter = buildSeccompFilter(arch);
      const nr = (name: string) => table.get(name)!;
      const action = (number: number, ...args: bigint[]) => runFilter(filter, { nr: number, arch: auditArch, args });
      const call = (name: string, ...args: bigint[]) => action(nr(name), ...args);
      const allowedNumbers = new Set(allowedSyscallsFor(arch).map(nr));
      const judgedNumbers = new Set(JUDGED_BY_ARGUMENTS.map(nr));

      it('kills a call made through another ABI', () => {
        for (const other of [AUDIT_ARCH_I386, arch === 'x64' ? AUDIT_ARCH_AARCH64 : AUDIT_ARCH_X86_64]) {
          expect(runFilter(filter, { nr: nr('read'), arch: other })).toBe(KILL_PROCESS);
        }
      });

      it('allows every allowlisted call, whatever its arguments', () => {
        const anyArguments = Array.from({ length: 6 }, () => 0xffffffff_ffffffffn);
        for (const name of allowedSyscallsFor(arch)) {
          expect({ name, action: call(name) }).toEqual({ name, action: ALLOW });
          expect({ name, action: call(name, ...anyArguments) }).toEqual({ name, action: ALLOW });
        }
      });

      it('refuses every never-allowed call it has a number for with EPERM', () => {
        for (const name of NEVER_ALLOWED_SYSCALLS.filter((name) => table.has(name))) {
          expect({ name, action: call(name) }).toEqual({ name, action: EPERM });
        }
      });

      it('refuses calls of later kernels and numbers no kernel has assigned', () => {
        const highest = Math.max(...header().values());
        for (const number of [...Object.values(UNLISTED_SYSCALLS), highest + 1, 1000, 0x3fffffff, -1]) {
          expect({ number, action: action(number) }).toEqual({ number, action: EPERM });
        }
      });

      it('allows no number below 1024 that is not on the allowlist', () => {
        for (let number = 0; number < 1024; number++) {
          if (judgedNumbers.has(number)) continue;
          expect({ number, action: action(number) }).toEqual({ number, action: allowedNumbers.has(number) ? ALLOW : EPERM });
        }
      });

      it('answers clone3 with ENOSYS', () => {
        expect(call('clone3')).toBe(ENOSYS);
      });

      it('lets clone make threads and processes but not namespaces', () => {
        expect(call('clone', 0x3d0f00n)).toBe(ALLOW); // pthread_create's flags
        expect(call('clone', 0x01200011n)).toBe(ALLOW); // fork: CHILD_SETTID | CHILD_CLEARTID | SIGCHLD
        expect(call('clone', 0x4111n)).toBe(ALLOW); // vfork: VM | VFORK | SIGCHLD
        expect(call('clone', 0xffffffff_00000011n)).toBe(ALLOW); // the kernel ignores the high half
        for (const flag of [0x80n, 0x20000n, 0x02000000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n]) {
          expect(call('clone', flag | 0x11n)).toBe(EPERM);
          expect(call('clone', 0xffffffff_00000000n | flag)).toBe(EPERM);
        }
      });

      it('refuses TIOCSTI and TIOCLINUX but no other ioctl', () => {
        expect(call('ioctl', 0n, 0x5412n)).toBe(EPERM);
        expect(call('ioctl', 0n, 0x541cn)).toBe(EPERM);
        // ioctl's request is an unsigned int: high bits cannot smuggle TIOCSTI past the filter.
        expect(call('ioctl', 0n, 0xdead0000_00005412n)).toBe(EPERM);
        expect(call('ioctl', 0n, 0x5401n)).toBe(ALLOW); // TCGETS
        expect(call('ioctl', 0n, 0x541bn)).toBe(ALLOW); // FIONREAD
      });

      it('refuses vsock sockets and no other family', () => {
        expect(call('socket', 40n, 1n)).toBe(EPERM); // AF_VSOCK
        expect(call('socket', 0xffffffff_00000028n, 1n)).toBe(EPERM); // the family is an int: high bits do not count
        expect(call('socket', 2n, 1n)).toBe(ALLOW); // AF_INET
        expect(call('socket', 1n, 1n)).toBe(ALLOW); // AF_UNIX
        expect(call('socket', 16n, 3n)).toBe(ALLOW); // AF_NETLINK
      });

      it('lets personality query and set only the harmless personas', () => {
        for (const persona of [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn]) expect({ persona, action: call('personality', persona) }).toEqual({ persona, action: ALLOW });
        // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, each with an allowed persona, MMAP_PAGE_ZERO.
        for (const persona of [0x0040000n, 0x0400000n, 0x0060000n, 0x0400008n, 0x0100000n]) expect({ persona, action: call('personality', persona) }).toEqual({ persona, action: EPERM });
        // The persona is an unsigned int: the kernel ignores the high half, and so does the filter.
        expect(call('personality', 0xffffffff_00040000n)).toBe(EPERM);
        expect(call('personality', 0x00000001_00000000n)).toBe(ALLOW);
      });

      if (arch === 'x64') {
        it('refuses x32 calls', () => {
          expect(action(0x40000000 | 39)).toBe(EPERM);
          expect(action(0x40000000 | nr('ptrace'))).toBe(EPERM);
          expect(action(0x40000000 | nr('clone'), 0x11n)).toBe(EPERM);
        });
      }
    });
  }
});

describe.runIf(process.arch === 'x64' || process.arch === 'arm64')('bubblewrap with the filter', () => {
  const filter = buildSeccompFilter();
  let filtered: ProbeResults;
  let unfiltered: ProbeResults;

  beforeAll(async () => {
    [filtered, unfiltered] = await Promise.all([probe(filter, true), probe(undefined, false)]);
  });

  it('makes the key refused calls fail with EPERM', () => {
    const keys = [
      'ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount2', 'chroot', 'unshare', 'setns', 'sethostname',
      'keyctl', 'bpf', 'perf_event_open', 'kexec_load', 'io_uring_setup', 'userfaultfd', 'clone_newuser',
      'ioctl_tiocsti', 'ioctl_tioclinux', 'personality_no_aslr',
    ];
    for (const name of keys) expect({ name, outcome: filtered[name] }).toEqual({ name, outcome: [-1, 'EPERM'] });
    if (process.arch === 'x64') expect(filtered.x32_getpid).toEqual([-1, 'EPERM']);
  });

  it('makes every never-allowed call of this architecture fail with EPERM', () => {
    for (const name of HOST_NEVER_ALLOWED) expect({ name, outcome: filtered[`raw_${name}`] }).toEqual({ name, outcome: [-1, 'EPERM'] });
  });

  it('makes calls of later kernels and unassigned numbers fail with EPERM, where the kernel answers otherwise', () => {
    for (const name of Object.keys(UNLISTED_SYSCALLS)) {
      expect({ name, outcome: filtered[`unlisted_${name}`] }).toEqual({ name, outcome: [-1, 'EPERM'] });
      expect({ name, errno: unfiltered[`unlisted_${name}`]?.[1] }).not.toEqual({ name, errno: 'EPERM' });
    }
  });

  it('answers clone3 with ENOSYS and lets other ioctls and personality queries through', () => {
    expect(filtered.clone3).toEqual([-1, 'ENOSYS']);
    expect(filtered.ioctl_fionread).toEqual([0, null]);
    expect(filtered.personality_query?.[1]).toBeNull();
  });

  it('is what produces those errors: without it the kernel answers otherwise', () => {
    const expected: Record<string, string> = {
      ptrace: 'ESRCH',
      process_vm_readv: 'EINVAL',
      process_vm_writev: 'EINVAL',
      mount: 'ENOENT',
      umount2: 'ENOENT',
      chroot: 'ENOENT',
      setns: 'EBADF',
      keyctl: 'ENOTSUP', // EOPNOTSUPP, under the name Python's errno module gives 95
      perf_event_open: 'EINVAL',
      clone3: 'EINVAL',
      ioctl_tiocsti: 'ENOTTY',
      ioctl_tioclinux: 'ENOTTY',
    };
    for (const [name, errno] of Object.entries(expected)) expect({ name, outcome: unfiltered[name] }).toEqual({ name, outcome: [-1, errno] });
    expect(unfiltered.personality_no_aslr?.[1], 'personality(ADDR_NO_RANDOMIZE) succeeds').toBeNull();
    // --disable-userns refuses nested user namespaces too, but with ENOSPC.
    for (const name of ['unshare', 'clone_newuser']) expect({ name, errno: unfiltered[name]?.[1] }).not.toEqual({ name, errno: 'EPERM' });
  });

  it('runs Python forking, threading and starting a subprocess', async () => {
    const script = [
      'import os, subprocess, threading',
      'pid = os.fork()',
      'if pid == 0: os._exit(7)',
      'print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))',
      'seen = []',
      'threads = [threading.Thread(target=seen.append, args=(i,)) for i in range(4)]',
      'for t in threads: t.start()',
      'for t in threads: t.join()',
      'print("threads", sorted(seen))',
      'print("subprocess", subprocess.run(["/bin/echo", "ok"], capture_output=True, text=True, check=True).stdout.strip())',
    ].join('\n');
    const run = await runSandboxed(['/usr/bin/python3', '-c', script], filter);
    expect(run).toEqual({ code: 0, stdout: 'fork 7\nthreads [0, 1, 2, 3]\nsubprocess ok\n', stderr: '' });
  });

  it('runs Node with a worker thread and a child process', async () => {
    const script = [
      "const { Worker } = require('node:worker_threads');",
      "const { execSync } = require('node:child_process');",
      "const worker = new Worker('require(\"node:worker_threads\").parentPort.postMessage(6 * 7)', { eval: true });",
      "worker.once('message', (answer) => {",
      "  console.log('worker', answer);",
      "  console.log('exec', execSync('echo hi').toString().trim());",
      '  void worker.terminate();',
      '});',
    ].join('\n');
    const run = await runSandboxed(['/usr/bin/node', '-e', script], filter);
    expect(run).toEqual({ code: 0, stdout: 'worker 42\nexec hi\n', stderr: '' });
  });

  it('runs bash pipelines and subshells, under seccomp', async () => {
    const script = 'seq 1 5 | sort -r | head -n 2 | tr "\\n" " "; echo; (exit 3); echo "status $?"; echo "$(echo nested)"; sed -n "s/^Seccomp:\\s*/seccomp /p" /proc/self/status';
    const run = await runSandboxed(['/usr/bin/bash', '-c', script], filter);
    expect(run).toEqual({ code: 0, stdout: '5 4 \nstatus 3\nnested\nseccomp 2\n', stderr: '' });
  });

  it('runs coreutils, grep, find and procps', async () => {
    const script = [
      'mkdir -p d/e && echo "needle in here" > d/e/f.txt && cp d/e/f.txt d/g.txt && mv d/g.txt d/h.txt && chmod 600 d/h.txt',
      'ln -s f.txt d/e/link && stat -c "%a %s" d/h.txt && readlink d/e/link && du -s d > /dev/null && ls d | sort | tr "\\n" " "; echo',
      'find d -name "*.txt" | sort | tr "\\n" " "; echo',
      'grep -rl needle d | sort | tr "\\n" " "; echo',
      'ps -o comm= -p $$; pgrep -c -x bash; top -b -n 1 | head -n 1 | cut -c 1-5; free | head -n 1 | tr -s " " | cut -d " " -f 2',
      'date -u -d @0 +%Y; sleep 0.1; rm -r d && echo removed',
    ].join('\n');
    const run = await runSandboxed(['/usr/bin/bash', '-c', script], filter);
    expect(run).toEqual({
      code: 0,
      stdout: '600 15\nf.txt\ne h.txt \nd/e/f.txt d/h.txt \nd/e/f.txt d/h.txt \nbash\n1\ntop -\ntotal\n1970\nremoved\n',
      stderr: '',
    });
  });

  it('runs esbuild, a static Go binary, transforming TypeScript', async () => {
    const esbuild = createRequire(import.meta.url).resolve(`@esbuild/linux-${process.arch}/bin/esbuild`);
    const script = 'echo "let x: number = 1" | /esbuild --loader=ts && /esbuild --version';
    const run = await runSandboxed(['/usr/bin/bash', '-c', script], filter, ['--ro-bind', esbuild, '/esbuild']);
    expect(run).toEqual({ code: 0, stdout: `let x = 1;\n${esbuildVersion}\n`, stderr: '' });
  });
});

function u32(value: number): number[] {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return [...bytes];
}
