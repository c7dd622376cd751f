import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from './syscallNumbers.js';
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64 } from './linuxConstants.js';

export interface SeccompArchitecture {
  /** The AUDIT_ARCH_* value the kernel reports in seccomp_data.arch for this ABI. */
  auditArch: number;
  syscalls: ReadonlyMap<string, number>;
  /** x86_64 also accepts x32 calls under the same audit arch; they must be refused separately. */
  hasX32Abi: boolean;
}

/** Keyed by Node's process.arch. */
export const SECCOMP_ARCHITECTURES: ReadonlyMap<string, SeccompArchitecture> = new Map([
  ['x64', { auditArch: AUDIT_ARCH_X86_64, syscalls: X86_64_SYSCALLS, hasX32Abi: true }],
  ['arm64', { auditArch: AUDIT_ARCH_AARCH64, syscalls: AARCH64_SYSCALLS, hasX32Abi: false }],
]);
