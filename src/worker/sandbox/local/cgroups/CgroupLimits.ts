/** What one job's cgroup enforces. */
export interface CgroupLimits {
  /** RAM the job may use; swap is closed where the kernel lets us, so this is the whole budget. */
  memoryBytes: number;
  /** Processes and threads, the sandbox's own init and bwrap included. */
  maxProcesses: number;
  /** CPU time per wall-clock time: 1 = one full CPU, 0.5 = half of one. */
  cpus: number;
  /**
   * A sandbox warming up for the pool: it gets the CPU only when running
   * jobs leave some (lowest cpu.shares / cpu.weight), so its start does not
   * slow the jobs it is meant to speed up. Claiming it restores the normal share.
   */
  background?: boolean;
}

/** cgroup v1 cpu.shares and v2 cpu.weight, for background and for jobs (the kernels' defaults). */
export const CPU_SHARES = { background: 2, normal: 1024 } as const;
export const CPU_WEIGHT = { background: 1, normal: 100 } as const;

/** The CFS period both versions use; quota = cpus × period. */
export const CPU_PERIOD_US = 100_000;

/** The kernel refuses quotas under 1 ms per period. */
const MIN_QUOTA_US = 1000;

export function cpuQuotaMicros(cpus: number): number {
  return Math.max(MIN_QUOTA_US, Math.round(cpus * CPU_PERIOD_US));
}

/** Rejects values the kernel would reject or misread (a fraction of a byte, NaN, 0 processes). */
export function checkLimits(limits: CgroupLimits): void {
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes <= 0) {
    throw new RangeError(`memoryBytes must be a positive integer, got ${limits.memoryBytes}`);
  }
  if (!Number.isSafeInteger(limits.maxProcesses) || limits.maxProcesses <= 0) {
    throw new RangeError(`maxProcesses must be a positive integer, got ${limits.maxProcesses}`);
  }
  if (!Number.isFinite(limits.cpus) || limits.cpus * CPU_PERIOD_US < MIN_QUOTA_US) {
    throw new RangeError(`cpus must be at least ${MIN_QUOTA_US / CPU_PERIOD_US}, got ${limits.cpus}`);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Cgroup and group names become directory names: one path segment, nothing that climbs out. */
export function checkCgroupName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new RangeError(`${kind} ${JSON.stringify(name)} must match ${NAME}`);
}
