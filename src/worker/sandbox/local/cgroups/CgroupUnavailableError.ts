/** Cgroups cannot be used here; `reason` says why and what would fix it. */
export class CgroupUnavailableError extends Error {
  constructor(
    readonly version: 1 | 2 | null,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'CgroupUnavailableError';
  }
}

/** What an operator does about a hierarchy that is there but not writable. */
export const CGROUP_FIX_HINT =
  'Run the worker as root, or give it a delegated, writable cgroup: Delegate=yes for a systemd service; ' +
  'in a container, a private cgroup namespace (--cgroupns=private) with /sys/fs/cgroup mounted read-write.';
