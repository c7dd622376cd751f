import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupHierarchy } from './CgroupHierarchy.js';
import { checkCgroupName } from './CgroupLimits.js';
import { CGROUP_FIX_HINT, CgroupUnavailableError } from './CgroupUnavailableError.js';
import { CgroupV1Hierarchy } from './CgroupV1Hierarchy.js';
import { CgroupV2Hierarchy } from './CgroupV2Hierarchy.js';
import { errorCode, exists } from './cgroupFiles.js';
import { cgroupMounts } from './mountInfo.js';

export type { CgroupHierarchy } from './CgroupHierarchy.js';
export type { CgroupLimits } from './CgroupLimits.js';
export type { JobCgroup } from './JobCgroup.js';

export type CgroupDetection =
  | { available: true; hierarchy: CgroupHierarchy }
  /** `reason` says what is wrong and what would fix it; the caller falls back to rlimits. */
  | { available: false; version: 1 | 2 | null; reason: string };

export interface DetectCgroupsOptions {
  /** Where the hierarchies are mounted; tests point it at a tree of their own. */
  root?: string;
  /** The directory job cgroups are grouped under. */
  groupName?: string;
  /** Contents of /proc/self/cgroup. */
  procSelfCgroup?: string;
  /** Contents of /proc/self/mountinfo. */
  mountInfo?: string;
}

/**
 * Finds which cgroup version this host runs and prepares a place for job
 * cgroups in it. Pure unified (v2) when `<root>/cgroup.controllers` exists;
 * otherwise v1 from the cgroup mounts under `root` (a hybrid host's empty
 * `<root>/unified` is ignored). Never throws for a host without usable cgroups.
 */
export async function detectCgroups(options: DetectCgroupsOptions = {}): Promise<CgroupDetection> {
  const root = path.resolve(options.root ?? '/sys/fs/cgroup');
  const groupName = options.groupName ?? 'sandq';
  checkCgroupName('group name', groupName);
  let version: 1 | 2 | null = null;
  try {
    if (await exists(path.join(root, 'cgroup.controllers'))) {
      version = 2;
      const procSelfCgroup = options.procSelfCgroup ?? (await readFile('/proc/self/cgroup', 'utf8'));
      return { available: true, hierarchy: await CgroupV2Hierarchy.open(root, groupName, procSelfCgroup) };
    }
    const mountInfo = options.mountInfo ?? (await readFile('/proc/self/mountinfo', 'utf8'));
    const v1Mounted = cgroupMounts(mountInfo).some((mount) => mount.fsType === 'cgroup' && mount.mountPoint.startsWith(`${root}/`));
    if (!v1Mounted) {
      return {
        available: false,
        version: null,
        reason: `no cgroup hierarchy is mounted at ${root}. ${CGROUP_FIX_HINT}`,
      };
    }
    version = 1;
    return { available: true, hierarchy: await CgroupV1Hierarchy.open(root, groupName, mountInfo) };
  } catch (error) {
    if (error instanceof CgroupUnavailableError) return { available: false, version: error.version, reason: error.reason };
    // Anything else (an odd kernel, a half-mounted tree) still must not stop the worker from starting.
    return { available: false, version, reason: `cgroup setup under ${root} failed (${errorCode(error) ?? 'error'}): ${(error as Error).message}` };
  }
}
