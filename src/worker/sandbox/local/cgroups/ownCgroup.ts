import { CgroupUnavailableError } from './CgroupUnavailableError.js';

/**
 * The worker's cgroup v2 path from /proc/self/cgroup ("0::/system.slice/x.service").
 * A path starting with "/.." means our cgroup lies outside the cgroup namespace
 * we see, so it cannot be reached under the mount.
 */
export function ownCgroupV2Path(procSelfCgroup: string): string {
  const line = procSelfCgroup.split('\n').find((entry) => entry.startsWith('0::'));
  if (!line) {
    throw new CgroupUnavailableError(2, 'cgroup v2 is mounted but /proc/self/cgroup has no "0::" line, so the worker cannot find its own cgroup.');
  }
  const own = line.slice(3).trim();
  if (!own.startsWith('/') || own === '/..' || own.startsWith('/../')) {
    throw new CgroupUnavailableError(
      2,
      `the worker's cgroup ${JSON.stringify(own)} lies outside its cgroup namespace; run it in a private cgroup namespace of its own (e.g. --cgroupns=private).`,
    );
  }
  return own;
}
