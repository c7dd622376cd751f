/** The filter only knows the syscall tables of x86_64 and aarch64; elsewhere there is nothing safe to load. */
export class UnsupportedArchitectureError extends Error {
  constructor(readonly arch: string) {
    super(`seccomp is not available on architecture ${arch}: sandq's seccomp filter supports x64 and arm64 only.`);
    this.name = 'UnsupportedArchitectureError';
  }
}
