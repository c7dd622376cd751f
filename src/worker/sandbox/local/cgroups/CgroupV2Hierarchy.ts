import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupHierarchy } from './CgroupHierarchy.js';
import { checkCgroupName, checkLimits, type CgroupLimits } from './CgroupLimits.js';
import { CGROUP_FIX_HINT, CgroupUnavailableError } from './CgroupUnavailableError.js';
import { CgroupV2Job } from './CgroupV2Job.js';
import { childDirectories, errorCode, exists, isPermissionError, readOptional, readPids, words, writeEach, writeValue } from './cgroupFiles.js';
import { ownCgroupV2Path } from './ownCgroup.js';
import { removeAll } from './removeAll.js';

const REQUIRED = ['memory', 'pids'];
const WANTED = [...REQUIRED, 'cpu'];

/** Leaf the worker's own processes move to, so that their cgroup may have children with controllers. */
const SUPERVISOR_CGROUP = 'supervisor';

const ENABLE_ATTEMPTS = 5;

/**
 * cgroup v2: job cgroups at `<own>/<groupName>/<job>`, inside the worker's
 * own cgroup, so they stay within whatever limits the worker itself was given.
 */
export class CgroupV2Hierarchy implements CgroupHierarchy {
  readonly version = 2;

  private constructor(
    readonly groupDirectory: string,
    readonly controllers: string[],
  ) {}

  /**
   * Sets up `<own>/<groupName>` with the controllers enabled for its children;
   * throws CgroupUnavailableError with what to do when it cannot.
   */
  static async open(root: string, groupName: string, procSelfCgroup: string): Promise<CgroupV2Hierarchy> {
    const base = await baseDirectory(root, ownCgroupV2Path(procSelfCgroup), groupName);
    const available = readOptional(path.join(base, 'cgroup.controllers'));
    if (available === null) {
      throw new CgroupUnavailableError(
        2,
        `the worker's cgroup ${base} is not visible under ${root}; run the worker in a private cgroup namespace (--cgroupns=private) or on the host.`,
      );
    }
    const controllers = WANTED.filter((controller) => words(available).includes(controller));
    const missing = REQUIRED.filter((controller) => !controllers.includes(controller));
    if (missing.length > 0) {
      throw new CgroupUnavailableError(
        2,
        `the ${missing.join(' and ')} controller is not delegated to ${base} (cgroup.controllers: "${available.trim()}"); ` +
          "enable it in the parent's cgroup.subtree_control, or set Delegate=yes for the worker's systemd service.",
      );
    }

    const groupDirectory = path.join(base, groupName);
    try {
      await enableForChildren(base, controllers, root);
      await mkdir(groupDirectory, { recursive: true });
      await enableForChildren(groupDirectory, controllers, root);
    } catch (error) {
      if (isPermissionError(error)) throw new CgroupUnavailableError(2, `cannot set up ${groupDirectory}: ${(error as Error).message}. ${CGROUP_FIX_HINT}`);
      throw error;
    }
    return new CgroupV2Hierarchy(groupDirectory, controllers);
  }

  describe(): string {
    return `cgroup v2 (${this.controllers.join(', ')}) under ${this.groupDirectory}`;
  }

  async createJob(name: string, limits: CgroupLimits): Promise<CgroupV2Job> {
    checkCgroupName('job cgroup', name);
    checkLimits(limits);
    const directory = path.join(this.groupDirectory, name);
    // Left by a crashed run of the same job: its counters (oom_kill, peak) must not carry over.
    if (await exists(directory)) await new CgroupV2Job(name, directory).destroy();

    const job = new CgroupV2Job(name, directory);
    try {
      await mkdir(directory);
      await job.applyLimits(limits, {
        // Every child of the group gets the same interface files; the group's own tells whether swap is accounted.
        swapAccounted: await exists(path.join(this.groupDirectory, 'memory.swap.max')),
        cpu: this.controllers.includes('cpu'),
      });
    } catch (error) {
      await job.destroy().catch(() => {});
      throw error;
    }
    return job;
  }

  async removeStale(isStale: (jobName: string) => boolean): Promise<number> {
    const names = (await childDirectories(this.groupDirectory)).filter(isStale);
    return await removeAll(names.map((name) => new CgroupV2Job(name, path.join(this.groupDirectory, name))));
  }
}

/**
 * The worker's own cgroup directory; or, when a worker restarts inside the
 * supervisor leaf an earlier one created, that leaf's parent, so the tree
 * does not grow a level per restart.
 */
async function baseDirectory(root: string, own: string, groupName: string): Promise<string> {
  const ownDirectory = path.resolve(path.join(root, own));
  const parent = path.dirname(ownDirectory);
  if (path.basename(ownDirectory) === SUPERVISOR_CGROUP && ownDirectory !== root && (await exists(path.join(parent, groupName)))) return parent;
  return ownDirectory;
}

/**
 * Writes "+memory +pids +cpu" to `dir`'s cgroup.subtree_control. A cgroup with
 * processes of its own may not do that ("no internal processes": EBUSY), the
 * root cgroup excepted, so its processes first move to a leaf of their own.
 * Below the mount's root that is always needed; at the mount's root (the real
 * root, or a cgroup namespace's) only EBUSY tells.
 */
async function enableForChildren(dir: string, controllers: string[], root: string): Promise<void> {
  const enabled = words(readOptional(path.join(dir, 'cgroup.subtree_control')));
  if (controllers.every((controller) => enabled.includes(controller))) return;

  if (path.resolve(dir) !== path.resolve(root) && (await readPids(path.join(dir, 'cgroup.procs'))).length > 0) await moveToSupervisor(dir);
  for (let attempt = 1; ; attempt++) {
    try {
      writeValue(path.join(dir, 'cgroup.subtree_control'), controllers.map((controller) => `+${controller}`).join(' '));
      return;
    } catch (error) {
      // A process may have forked into `dir` since we moved the others.
      if (errorCode(error) !== 'EBUSY' || attempt === ENABLE_ATTEMPTS) throw error;
      await moveToSupervisor(dir);
    }
  }
}

/** Moves every process of `dir` (the worker and whatever shares its cgroup) into `dir/supervisor`. */
async function moveToSupervisor(dir: string): Promise<void> {
  const leaf = path.join(dir, SUPERVISOR_CGROUP);
  await mkdir(leaf, { recursive: true });
  const pids = await readPids(path.join(dir, 'cgroup.procs'));
  const refused = await writeEach(
    path.join(leaf, 'cgroup.procs'),
    pids.map((pid) => String(pid)),
  );
  // ESRCH: the process exited meanwhile, nothing to move.
  const failure = refused.find(({ error }) => errorCode(error) !== 'ESRCH');
  if (failure) throw failure.error;
}
