import path from 'node:path';
import type { JobCgroup } from './JobCgroup.js';
import { CPU_PERIOD_US, CPU_SHARES, checkLimits, cpuQuotaMicros, type CgroupLimits } from './CgroupLimits.js';
import { errorCode, isPermissionError, keyedValues, killThenRemove, killUntilEmpty, readOptional, writeIfPresent, writeValue } from './cgroupFiles.js';

/** A job's directory in each controller's hierarchy; memory and pids may share one when co-mounted. */
export interface V1JobDirectories {
  memory: string;
  pids: string;
  cpu: string | undefined;
  /** CPU accounting: its own hierarchy, or co-mounted with cpu. */
  cpuacct: string | undefined;
}

/** One job's cgroups under cgroup v1: a directory per controller hierarchy. */
export class CgroupV1Job implements JobCgroup {
  readonly directories: readonly string[];
  readonly procsFiles: readonly string[];
  private destroyed = false;

  constructor(
    readonly name: string,
    private readonly dirs: V1JobDirectories,
  ) {
    this.directories = [...new Set([dirs.memory, dirs.pids, dirs.cpu, dirs.cpuacct].filter((dir) => dir !== undefined))];
    // Each hierarchy places processes independently: join all of them, or a limit silently does not apply.
    this.procsFiles = this.directories.map((dir) => path.join(dir, 'cgroup.procs'));
  }

  async applyLimits(limits: CgroupLimits): Promise<void> {
    const memory = (file: string) => path.join(this.dirs.memory, file);
    const current = Number((readOptional(memory('memory.limit_in_bytes')))?.trim() ?? Number.MAX_SAFE_INTEGER);
    // memsw counts RAM + swap: equal to the RAM limit, no swap is left to escape into.
    // It may never be below limit_in_bytes: lowering writes the RAM limit first, raising writes memsw first.
    if (limits.memoryBytes <= current) {
      writeValue(memory('memory.limit_in_bytes'), String(limits.memoryBytes));
      writeIfPresent(memory('memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    } else {
      writeIfPresent(memory('memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      writeValue(memory('memory.limit_in_bytes'), String(limits.memoryBytes));
    }
    try {
      writeIfPresent(memory('memory.swappiness'), '0');
    } catch (error) {
      // Some kernels refuse it (e.g. under a hierarchical parent); memsw already closes swap where it exists.
      if (!isPermissionError(error) && errorCode(error) !== 'EINVAL') throw error;
    }
    writeValue(path.join(this.dirs.pids, 'pids.max'), String(limits.maxProcesses));
    if (this.dirs.cpu) {
      writeValue(path.join(this.dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      writeValue(path.join(this.dirs.cpu, 'cpu.cfs_quota_us'), String(cpuQuotaMicros(limits.cpus)));
      writeValue(path.join(this.dirs.cpu, 'cpu.shares'), String(limits.background ? CPU_SHARES.background : CPU_SHARES.normal));
    }
  }

  async setLimits(limits: CgroupLimits): Promise<void> {
    checkLimits(limits);
    await this.applyLimits(limits);
  }


  oomKills(): number {
    const control = keyedValues(readOptional(path.join(this.dirs.memory, 'memory.oom_control')));
    const kills = control.get('oom_kill');
    if (kills !== undefined) return kills;
    // Kernels before 4.13 do not count kills: a hit limit while under OOM is the best sign left, counted once.
    const failures = Number((readOptional(path.join(this.dirs.memory, 'memory.failcnt')))?.trim() ?? 0);
    return failures > 0 && control.get('under_oom') === 1 ? 1 : 0;
  }

  memoryPeakBytes(): number | null {
    const text = readOptional(path.join(this.dirs.memory, 'memory.max_usage_in_bytes'));
    return text === null ? null : Number(text.trim());
  }

  resetMemoryPeak(): boolean {
    // Writing 0 restarts max_usage_in_bytes from the current usage.
    return writeIfPresent(path.join(this.dirs.memory, 'memory.max_usage_in_bytes'), '0');
  }

  cpuUsageMicros(): number | null {
    if (!this.dirs.cpuacct) return null;
    const text = readOptional(path.join(this.dirs.cpuacct, 'cpuacct.usage'));
    return text === null ? null : Math.round(Number(text.trim()) / 1000);
  }

  async killAll(): Promise<void> {
    // v1 has no cgroup.kill. With pids.max at 0 nothing inside can fork any more, so the kill loop cannot be outrun.
    writeIfPresent(path.join(this.dirs.pids, 'pids.max'), '0');
    await killUntilEmpty(this.directories.map((dir) => path.join(dir, 'cgroup.procs')));
  }

  async destroy(): Promise<void> {
    // Once removed, a job of the same name may be created again: this object must not touch it.
    if (this.destroyed) return;
    await killThenRemove(() => this.killAll(), this.directories);
    this.destroyed = true;
  }
}
