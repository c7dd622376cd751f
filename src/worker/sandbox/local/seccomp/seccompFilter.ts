import { ALLOWED_SYSCALLS } from './allowedSyscalls.js';
import { SECCOMP_ARCHITECTURES, type SeccompArchitecture } from './architectures.js';
import { type BpfInstruction, encodeProgram, jumpIfAnySet, jumpIfAtLeast, jumpIfEqual, jumpIfGreater, load, ret } from './bpf.js';
import {
  AF_VSOCK,
  CLONE_NAMESPACE_FLAGS,
  ENOSYS,
  EPERM,
  HARMLESS_PERSONALITIES,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  TIOCLINUX,
  TIOCSTI,
  X32_SYSCALL_BIT,
} from './linuxConstants.js';
import { UnsupportedArchitectureError } from './UnsupportedArchitectureError.js';

export { UnsupportedArchitectureError } from './UnsupportedArchitectureError.js';

const ALLOW = SECCOMP_RET_ALLOW;
const DENY = SECCOMP_RET_ERRNO | EPERM;

function architecture(arch: string): SeccompArchitecture {
  const target = SECCOMP_ARCHITECTURES.get(arch);
  if (!target) throw new UnsupportedArchitectureError(arch);
  return target;
}

/** The ALLOWED_SYSCALLS that exist on `arch`: what its filter lets through whatever the arguments. */
export function allowedSyscallsFor(arch: string = process.arch): string[] {
  const { syscalls } = architecture(arch);
  return ALLOWED_SYSCALLS.filter((name) => syscalls.has(name));
}

/** One line on what the filter of `arch` lets through, for the isolation report. */
export function describeSeccompFilter(arch: string = process.arch): string {
  return `allowlist of ${allowedSyscallsFor(arch).length} system calls (${arch}), and clone, ioctl, socket and personality by their arguments; everything else is refused`;
}

/**
 * The call numbered `nr` whose argument at `offset` (its low 32 bits) is one
 * of `values` returns `onMatch`, with any other value `onOther`; any other
 * call falls through to what follows.
 */
function judgeByArgument(nr: number, offset: number, values: readonly number[], onMatch: number, onOther: number): BpfInstruction[] {
  return [
    jumpIfEqual(nr, 0, values.length + 3),
    load(offset),
    ...values.map((value, index) => jumpIfEqual(value, values.length - index, 0)),
    ret(onOther),
    ret(onMatch),
  ];
}

/** Sorted numbers as runs of consecutive ones, [first, last] each. */
function contiguousRanges(numbers: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const number of [...numbers].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && number === last[1] + 1) last[1] = number;
    else ranges.push([number, number]);
  }
  return ranges;
}

/**
 * A call numbered within one of `ranges` is allowed, any other refused. The
 * ranges are walked in ascending order: past a range's end, on to the next;
 * otherwise the call is allowed exactly when it reaches the range's start.
 * Every jump lands on the next range or on one of the two returns at the end,
 * so the longest is two instructions per range (the encoder holds it to 255).
 */
function allowInRanges(ranges: readonly [number, number][]): BpfInstruction[] {
  const toEnd = (index: number) => 2 * (ranges.length - index);
  return [
    ...ranges.flatMap(([first, last], index) => [jumpIfGreater(last, 1, 0), jumpIfAtLeast(first, toEnd(index) - 1, toEnd(index) - 2)]),
    ret(DENY),
    ret(ALLOW),
  ];
}

/**
 * The seccomp program bwrap loads with `--seccomp FD` (raw sock_filter[]).
 * Only ALLOWED_SYSCALLS pass, and clone, ioctl, socket and personality with
 * harmless arguments; clone3 gets ENOSYS and every other call EPERM, calls
 * the kernel gained after the tables were written among them. A call from
 * another ABI kills the process.
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
  // x32 calls reuse x86_64's numbers with a high bit set: refused before any number is compared.
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
    ret(ALLOW),
    // ioctl: every request but the two that inject input into a terminal.
    ...judgeByArgument(nr('ioctl'), SECCOMP_DATA.arg1Low, [TIOCSTI, TIOCLINUX], DENY, ALLOW),
    // socket: every family but vsock, which the sandbox's empty network namespace does not cover.
    ...judgeByArgument(nr('socket'), SECCOMP_DATA.arg0Low, [AF_VSOCK], DENY, ALLOW),
    // personality: queries and harmless personas only; no turning off address-space randomisation.
    ...judgeByArgument(nr('personality'), SECCOMP_DATA.arg0Low, HARMLESS_PERSONALITIES, ALLOW, DENY),
    ...allowInRanges(contiguousRanges(allowedSyscallsFor(arch).map(nr))),
  );
  return encodeProgram(program);
}
