import type { CgroupLimits } from './CgroupLimits.js';
import type { JobCgroup } from './JobCgroup.js';

/** Where the worker makes job cgroups, and which controllers they get. */
export interface CgroupHierarchy {
  readonly version: 1 | 2;
  /** The controllers a job's limits go through, e.g. ['memory', 'pids', 'cpu']. */
  readonly controllers: string[];
  /** One line for logs and `sandq doctor`. */
  describe(): string;
  createJob(name: string, limits: CgroupLimits): Promise<JobCgroup>;
  /**
   * Kills and removes the job cgroups `isStale` picks (those of a crashed
   * worker; workers on one host share the group); returns how many.
   */
  removeStale(isStale: (jobName: string) => boolean): Promise<number>;
}
