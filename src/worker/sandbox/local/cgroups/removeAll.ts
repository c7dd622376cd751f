import type { JobCgroup } from './JobCgroup.js';

/**
 * Destroys every job cgroup, one failure not stopping the rest; returns how
 * many went, and throws naming the ones that did not.
 */
export async function removeAll(jobs: JobCgroup[]): Promise<number> {
  const failures: string[] = [];
  for (const job of jobs) {
    try {
      await job.destroy();
    } catch (error) {
      failures.push(`${job.name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${jobs.length} stale job cgroups could not be removed:\n${failures.join('\n')}`);
  }
  return jobs.length;
}
