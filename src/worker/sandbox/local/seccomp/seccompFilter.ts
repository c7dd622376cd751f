import { SECCOMP_ARCHITECTURES, type SeccompArchitecture } from './architectures.js';
import { encodeProgram, jumpIfAnySet, jumpIfAtLeast, jumpIfEqual, load, ret } from './bpf.js';
import { DENIED_SYSCALLS } from './deniedSyscalls.js';
import {
  AF_VSOCK,
  CLONE_NAMESPACE_FLAGS,
  ENOSYS,
  EPERM,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  TIOCLINUX,
  TIOCSTI,
  X32_SYSCALL_BIT,
} from './linuxConstants.js';
import { UnsupportedArchitectureError } from './UnsupportedArchitectureError.js';

export { DENIED_SYSCALLS } from './deniedSyscalls.js';
export { UnsupportedArchitectureError } from './UnsupportedArchitectureError.js';

const DENY = SECCOMP_RET_ERRNO | EPERM;

function architecture(arch: string): SeccompArchitecture {
  const target = SECCOMP_ARCHITECTURES.get(arch);
  if (!target) throw new UnsupportedArchitectureError(arch);
  return target;
}

/** The DENIED_SYSCALLS that exist on `arch`: what its filter actually refuses. */
export function deniedSyscallsFor(arch: string = process.arch): string[] {
  const { syscalls } = architecture(arch);
  return DENIED_SYSCALLS.filter((name) => syscalls.has(name));
}

/**
 * The seccomp program bwrap loads with `--seccomp FD` (raw sock_filter[]).
 * Everything is allowed but namespace creation, typing into a terminal and
 * DENIED_SYSCALLS, which fail with EPERM; a call from another ABI kills the
 * process. Each test either returns or falls through to the next, so no
 * jump is longer than a few instructions.
 */
export function buildSeccompFilter(arch: string = process.arch): Buffer {
  const target = architecture(arch);
  const nr = (name: string): number => {
    const number = target.syscalls.get(name);
    if (number === undefined) throw new Error(`the ${arch} syscall table lacks ${name}`);
    return number;
  };

  const program = [
    // Another ABI (i386 through int 0x80, 32-bit arm) numbers its calls differently: nothing below would hold.
    load(SECCOMP_DATA.arch),
    jumpIfEqual(target.auditArch, 1, 0),
    ret(SECCOMP_RET_KILL_PROCESS),
    load(SECCOMP_DATA.nr),
  ];
  if (target.hasX32Abi) program.push(jumpIfAtLeast(X32_SYSCALL_BIT, 0, 1), ret(DENY));
  program.push(
    // clone3 passes its flags in memory the filter cannot read; ENOSYS makes libc fall back to clone.
    jumpIfEqual(nr('clone3'), 0, 1),
    ret(SECCOMP_RET_ERRNO | ENOSYS),
    // clone: threads and fork pass, new namespaces do not. Flags are the first argument on both CPUs.
    jumpIfEqual(nr('clone'), 0, 4),
    load(SECCOMP_DATA.arg0Low),
    jumpIfAnySet(CLONE_NAMESPACE_FLAGS, 0, 1),
    ret(DENY),
    ret(SECCOMP_RET_ALLOW),
    // ioctl: every request but the two that inject input into a terminal.
    jumpIfEqual(nr('ioctl'), 0, 5),
    load(SECCOMP_DATA.arg1Low),
    jumpIfEqual(TIOCSTI, 2, 0),
    jumpIfEqual(TIOCLINUX, 1, 0),
    ret(SECCOMP_RET_ALLOW),
    ret(DENY),
    // socket: every family but vsock, which the sandbox's empty network namespace does not cover.
    jumpIfEqual(nr('socket'), 0, 4),
    load(SECCOMP_DATA.arg0Low),
    jumpIfEqual(AF_VSOCK, 0, 1),
    ret(DENY),
    ret(SECCOMP_RET_ALLOW),
  );
  for (const name of deniedSyscallsFor(arch)) program.push(jumpIfEqual(nr(name), 0, 1), ret(DENY));
  program.push(ret(SECCOMP_RET_ALLOW));
  return encodeProgram(program);
}
