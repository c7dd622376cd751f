/*
 * Kernel ABI values the filter is written in terms of, from <linux/seccomp.h>,
 * <linux/audit.h>, <linux/sched.h>, <linux/personality.h>,
 * <asm-generic/ioctls.h> and <asm-generic/errno*.h>; identical on x86_64
 * and aarch64.
 */

/**
 * Byte offsets in struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6] }.
 * Arguments are read as their low 32 bits, which sit first on little-endian
 * CPUs; clone's flags, ioctl's request, socket's family and personality's
 * persona are only ever read that wide by the kernel.
 */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  arg0Low: 16,
  arg1Low: 24,
} as const;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

/** x32 ABI calls are x86_64's numbers with this bit set, under the same audit arch. */
export const X32_SYSCALL_BIT = 0x40000000;

export const EPERM = 1;
export const ENOSYS = 38;

/** Every CLONE_NEW* flag: a new namespace of any kind. */
export const CLONE_NAMESPACE_FLAGS =
  0x00000080 | // CLONE_NEWTIME
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

/** Push characters into a terminal's input queue: the classic sandbox escape through a shared tty. */
export const TIOCSTI = 0x5412;
/** Console-wide operations, among them pasting the selection into the input queue. */
export const TIOCLINUX = 0x541c;
/** <linux/socket.h>: virtio vsock, which no network namespace fences off (it reaches the hypervisor and host). */
export const AF_VSOCK = 40;

/**
 * The personas Docker's default profile allows: PER_LINUX, PER_LINUX32,
 * UNAME26, the last two together, and 0xffffffff, which only reads the
 * current one. The others, ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC among
 * them, weaken the protections of the program's memory.
 */
export const HARMLESS_PERSONALITIES = [0x0000000, 0x0000008, 0x0020000, 0x0020008, 0xffffffff];
