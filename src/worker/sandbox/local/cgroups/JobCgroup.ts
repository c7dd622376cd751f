import type { CgroupLimits } from './CgroupLimits.js';

/**
 * The cgroup of one job: created with its limits, emptied and removed after the run.
 * Its figures are read synchronously: a cgroupfs read is microseconds, and a case runner reads them between two cases.
 */
export interface JobCgroup {
  readonly name: string;
  /** One directory per hierarchy the job lives in (v1: one per controller mount; v2: one). */
  readonly directories: readonly string[];
  /**
   * Changes the limits of a cgroup that already holds processes (a warm
   * sandbox taking a job). Rejects when the kernel refuses, e.g. a memory
   * limit below what the members already use.
   */
  setLimits(limits: CgroupLimits): Promise<void>;
  /**
   * The cgroup.procs files a process writes its own pid to, to join the job
   * (one per hierarchy): a sandbox joins before it is built (see BwrapProcess).
   */
  readonly procsFiles: readonly string[];
  /** How many processes of this job the kernel's OOM killer has killed (a step compares before and after). */
  oomKills(): number;
  /** Highest memory use seen (since the last resetMemoryPeak), or null where the kernel does not record it. */
  memoryPeakBytes(): number | null;
  /**
   * Starts the peak over from the current use (between a compile and its
   * program); false where the kernel cannot (v2: memory.peak resets per open
   * file only), and the peak then spans both.
   */
  resetMemoryPeak(): boolean;
  /** CPU time all members have used since the cgroup was made, in microseconds; null without CPU accounting. */
  cpuUsageMicros(): number | null;
  /** SIGKILLs every member and resolves once none is left; rejects if some outlive a few seconds. */
  killAll(): Promise<void>;
  /** killAll, then removes the cgroup; idempotent, and a cgroup already gone is fine. */
  destroy(): Promise<void>;
}
