import path from 'node:path';
import type { JobCgroup } from './JobCgroup.js';
import { CPU_PERIOD_US, CPU_WEIGHT, checkLimits, cpuQuotaMicros, type CgroupLimits } from './CgroupLimits.js';
import { keyedValues, killThenRemove, killUntilEmpty, readOptional, writeIfPresent, writeValue } from './cgroupFiles.js';

/** One job's cgroup in the unified hierarchy: a single leaf directory. */
export class CgroupV2Job implements JobCgroup {
  readonly directories: readonly string[];
  readonly procsFiles: readonly string[];
  private destroyed = false;

  constructor(
    readonly name: string,
    readonly directory: string,
  ) {
    this.directories = [directory];
    this.procsFiles = [path.join(directory, 'cgroup.procs')];
  }

  private limitOptions: { swapAccounted: boolean; cpu: boolean } | undefined;

  /** `swapAccounted`: whether the kernel offers memory.swap.max here. `cpu`: whether the cpu controller is enabled. */
  async applyLimits(limits: CgroupLimits, options: { swapAccounted: boolean; cpu: boolean }): Promise<void> {
    this.limitOptions = options;
    writeValue(this.file('memory.max'), String(limits.memoryBytes));
    // Without this the job could spill past memory.max into swap.
    if (options.swapAccounted) writeValue(this.file('memory.swap.max'), '0');
    writeValue(this.file('pids.max'), String(limits.maxProcesses));
    if (options.cpu) {
      writeValue(this.file('cpu.max'), `${cpuQuotaMicros(limits.cpus)} ${CPU_PERIOD_US}`);
      writeValue(this.file('cpu.weight'), String(limits.background ? CPU_WEIGHT.background : CPU_WEIGHT.normal));
    }
  }

  async setLimits(limits: CgroupLimits): Promise<void> {
    checkLimits(limits);
    if (!this.limitOptions) throw new Error('setLimits needs a job cgroup made by createJob');
    // v2 would not refuse a limit below current use: it would reclaim, then OOM-kill the members.
    // What it can reclaim does not count: the page cache of files read (a compiler's own), not tmpfs pages (shmem).
    const current = Number((readOptional(this.file('memory.current')))?.trim() ?? 0);
    const stat = keyedValues(readOptional(this.file('memory.stat')));
    const reclaimable = Math.max(0, (stat.get('file') ?? 0) - (stat.get('shmem') ?? 0));
    const held = current - reclaimable;
    if (held > limits.memoryBytes) throw new Error(`the cgroup already holds ${held} bytes, more than the new limit ${limits.memoryBytes}`);
    await this.applyLimits(limits, this.limitOptions);
  }

  oomKills(): number {
    return keyedValues(readOptional(this.file('memory.events'))).get('oom_kill') ?? 0;
  }

  memoryPeakBytes(): number | null {
    // memory.peak arrived in kernel 5.19.
    const text = readOptional(this.file('memory.peak'));
    return text === null ? null : Number(text.trim());
  }

  resetMemoryPeak(): boolean {
    // memory.peak (6.12+) resets only for the file descriptor that wrote to it: the next read, on a new one, would not see it.
    return false;
  }

  cpuUsageMicros(): number | null {
    // cpu.stat's usage_usec is there in every cgroup, the cpu controller enabled or not.
    return keyedValues(readOptional(this.file('cpu.stat'))).get('usage_usec') ?? null;
  }

  async killAll(): Promise<void> {
    // cgroup.kill (kernel 5.14+) kills every member at once, forks in flight included.
    // Older kernels: stop forks with pids.max = 0, then SIGKILL what cgroup.procs lists.
    if (!(writeIfPresent(this.file('cgroup.kill'), '1'))) writeIfPresent(this.file('pids.max'), '0');
    // Either way, wait until the kernel no longer lists anyone, so rmdir can succeed.
    await killUntilEmpty([this.file('cgroup.procs')]);
  }

  async destroy(): Promise<void> {
    // Once removed, a job of the same name may be created again: this object must not touch it.
    if (this.destroyed) return;
    await killThenRemove(() => this.killAll(), this.directories);
    this.destroyed = true;
  }

  private file(name: string): string {
    return path.join(this.directory, name);
  }
}
