export interface CgroupMount {
  mountPoint: string;
  /** 'cgroup' (v1) or 'cgroup2'. */
  fsType: string;
  /** v1: the controllers of this hierarchy, e.g. ['cpu', 'cpuacct']; named hierarchies (name=systemd) have none. */
  controllers: string[];
  readOnly: boolean;
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash in paths as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

const V1_NON_CONTROLLER_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'nsdelegate']);

/**
 * The cgroup mounts in a mountinfo text: "id parent dev root mountpoint
 * options [optional fields] - fstype source superoptions" per line. For v1 the
 * controllers are in the superoptions, which is how a co-mounted `cpu,cpuacct`
 * is found wherever it is mounted.
 */
export function cgroupMounts(mountInfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountInfo.split('\n')) {
    const fields = line.trim().split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6) continue;
    const fsType = fields[separator + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountOptions = (fields[5] ?? '').split(',');
    const superOptions = (fields[separator + 3] ?? '').split(',');
    mounts.push({
      mountPoint: unescape(fields[4] ?? ''),
      fsType,
      controllers: fsType === 'cgroup' ? superOptions.filter((option) => !option.includes('=') && !V1_NON_CONTROLLER_OPTIONS.has(option)) : [],
      readOnly: mountOptions.includes('ro') || superOptions.includes('ro'),
    });
  }
  return mounts;
}
