import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupHierarchy } from './CgroupHierarchy.js';
import { checkCgroupName, checkLimits, type CgroupLimits } from './CgroupLimits.js';
import { CGROUP_FIX_HINT, CgroupUnavailableError } from './CgroupUnavailableError.js';
import { CgroupV1Job } from './CgroupV1Job.js';
import { childDirectories, exists, isPermissionError } from './cgroupFiles.js';
import { cgroupMounts } from './mountInfo.js';
import { removeAll } from './removeAll.js';

const REQUIRED = ['memory', 'pids'];
const WANTED = [...REQUIRED, 'cpu', 'cpuacct'];

/**
 * cgroup v1: one hierarchy per controller (or per co-mounted set such as
 * cpu,cpuacct). Jobs live at `<mount>/<groupName>/<job>` in each.
 */
export class CgroupV1Hierarchy implements CgroupHierarchy {
  readonly version = 1;
  readonly controllers: string[];

  private constructor(
    /** Controller → where its hierarchy is mounted. */
    private readonly mounts: ReadonlyMap<string, string>,
    private readonly groupName: string,
  ) {
    this.controllers = [...mounts.keys()];
  }

  /**
   * Finds the controllers' mounts under `root` in mountinfo and makes sure
   * `<groupName>` exists in each; throws CgroupUnavailableError saying what is missing.
   */
  static async open(root: string, groupName: string, mountInfo: string): Promise<CgroupV1Hierarchy> {
    const v1 = cgroupMounts(mountInfo).filter((mount) => mount.fsType === 'cgroup' && isWithin(root, mount.mountPoint));
    const found = new Map<string, { mountPoint: string; readOnly: boolean }>();
    for (const controller of WANTED) {
      const mount = v1.filter((candidate) => candidate.controllers.includes(controller)).sort((a, b) => a.mountPoint.length - b.mountPoint.length)[0];
      if (mount) found.set(controller, mount);
    }
    const missing = REQUIRED.filter((controller) => !found.has(controller));
    if (missing.length > 0) {
      throw new CgroupUnavailableError(
        1,
        `cgroup v1 under ${root} has no ${missing.join(' or ')} controller mounted; mount it ` +
          `(mount -t cgroup -o ${missing[0]} cgroup ${path.join(root, missing[0]!)}) or boot with cgroup v2.`,
      );
    }
    const readOnly = [...found.values()].filter((mount) => mount.readOnly).map((mount) => mount.mountPoint);
    if (readOnly.length > 0) {
      throw new CgroupUnavailableError(1, `cgroup v1 is mounted read-only at ${[...new Set(readOnly)].join(', ')}. ${CGROUP_FIX_HINT}`);
    }

    const hierarchy = new CgroupV1Hierarchy(new Map([...found].map(([controller, mount]) => [controller, mount.mountPoint])), groupName);
    for (const dir of hierarchy.groupDirectories()) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (error) {
        if (isPermissionError(error)) throw new CgroupUnavailableError(1, `cannot create ${dir}: ${(error as Error).message}. ${CGROUP_FIX_HINT}`);
        throw error;
      }
    }
    return hierarchy;
  }

  describe(): string {
    const groups = this.groupDirectories();
    const parents = new Set(groups.map((dir) => path.dirname(path.dirname(dir))));
    const where = parents.size === 1 ? path.join([...parents][0]!, '*', this.groupName) : groups.join(', ');
    return `cgroup v1 (${this.controllers.join(', ')}) under ${where}`;
  }

  async createJob(name: string, limits: CgroupLimits): Promise<CgroupV1Job> {
    checkCgroupName('job cgroup', name);
    checkLimits(limits);
    // Left by a crashed run of the same job: its counters (oom_kill, peak) must not carry over.
    if ((await Promise.all(this.job(name).directories.map(exists))).some(Boolean)) await this.job(name).destroy();

    const job = this.job(name);
    try {
      for (const dir of job.directories) await mkdir(dir);
      await job.applyLimits(limits);
    } catch (error) {
      await job.destroy().catch(() => {});
      throw error;
    }
    return job;
  }

  async removeStale(isStale: (jobName: string) => boolean): Promise<number> {
    const names = new Set((await Promise.all(this.groupDirectories().map(childDirectories))).flat().filter(isStale));
    return await removeAll([...names].map((name) => this.job(name)));
  }

  private job(name: string): CgroupV1Job {
    const dir = (controller: string) => {
      const mount = this.mounts.get(controller);
      return mount === undefined ? undefined : path.join(mount, this.groupName, name);
    };
    return new CgroupV1Job(name, { memory: dir('memory')!, pids: dir('pids')!, cpu: dir('cpu'), cpuacct: dir('cpuacct') });
  }

  private groupDirectories(): string[] {
    return [...new Set(this.mounts.values())].map((mount) => path.join(mount, this.groupName));
  }
}

function isWithin(root: string, dir: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(dir));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}
