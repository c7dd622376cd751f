import { writeFileSync } from 'node:fs';
import type { JobCgroup } from '../../src/worker/sandbox/local/cgroups/JobCgroup.js';

/** Puts a running process in a job's cgroup the way a sandbox joins it: its pid written to each cgroup.procs. */
export function joinCgroup(job: JobCgroup, pid: number): void {
  for (const file of job.procsFiles) writeFileSync(file, String(pid));
}
