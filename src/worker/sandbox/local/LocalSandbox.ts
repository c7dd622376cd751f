import { constants } from 'node:fs';
import { chown, lchown, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Limits } from '../../../shared/contract/limits.js';
import type { Program, ProgramFile, RunOptions, RunOutcome, Runtime, Sandbox } from '../SandboxProvider.js';
import type { ArtifactCollection } from '../Artifact.js';
import { sandboxArguments, sandboxCommand } from './bwrapArguments.js';
import { collectArtifacts } from './collectArtifacts.js';
import type { CgroupHierarchy } from './cgroups/CgroupHierarchy.js';
import type { JobCgroup } from './cgroups/JobCgroup.js';
import type { IdentityPool, SandboxIdentity } from './IdentityPool.js';
import { rlimitFlags } from './resourceLimits.js';
import { runBwrap } from './runBwrap.js';
import { mountWorkDirTmpfs, unmountWorkDir } from './workDirMount.js';

const MiB = 1024 * 1024;

export interface LocalSandboxSettings {
  bwrapPath: string;
  prlimitPath: string;
  /** bash under /usr, which closes inherited descriptors before the program starts. */
  shellPath: string;
  systemMounts: string[];
  runtimes: ReadonlyMap<Runtime, { executable: string; flags: string[] }>;
  workRoot: string;
  /** A host uid per sandbox when the worker is root; undefined = sandboxes run as the worker's own uid. */
  identities: IdentityPool | undefined;
  /** Per-job memory/pids/cpu limits; undefined = rlimit fallback. */
  cgroups: CgroupHierarchy | undefined;
  seccomp: Buffer;
  /** Whether work dirs are size-capped tmpfs mounts (needs root). */
  tmpfsWorkDir: boolean;
  cpusPerJob: number;
}

/** O_NOFOLLOW | O_EXCL: a job file is always a new regular file, never written through a link. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

let sequence = 0;

/**
 * One bubblewrap sandbox: its own host uid, a private size-capped work dir,
 * a cgroup with the job's limits; one program, then every trace removed.
 */
export class LocalSandbox implements Sandbox {
  private used = false;
  private destroyed = false;
  private mounted = false;

  private constructor(
    private readonly settings: LocalSandboxSettings,
    private readonly limits: Limits,
    readonly hostWorkDir: string,
    readonly identity: SandboxIdentity | undefined,
    private readonly cgroup: JobCgroup | undefined,
  ) {}

  static async create(settings: LocalSandboxSettings, limits: Limits): Promise<LocalSandbox> {
    const identity = await settings.identities?.acquire();
    let hostWorkDir: string | undefined;
    let cgroup: JobCgroup | undefined;
    try {
      hostWorkDir = await mkdtemp(path.join(settings.workRoot, 'job-'));
      const name = path.basename(hostWorkDir);
      cgroup = await settings.cgroups?.createJob(`${process.pid}-${++sequence}-${name}`, {
        memoryBytes: limits.memoryMb * MiB,
        maxProcesses: limits.maxProcesses,
        cpus: settings.cpusPerJob,
      });
      const sandbox = new LocalSandbox(settings, limits, hostWorkDir, identity, cgroup);
      if (settings.tmpfsWorkDir && identity) {
        await mountWorkDirTmpfs(hostWorkDir, limits.memoryMb * MiB, identity);
        sandbox.mounted = true;
      } else if (identity) {
        await chown(hostWorkDir, identity.uid, identity.gid);
      }
      return sandbox;
    } catch (error) {
      await cgroup?.destroy().catch(() => {});
      if (hostWorkDir) await rm(hostWorkDir, { recursive: true, force: true }).catch(() => {});
      if (identity) await settings.identities?.release(identity);
      throw error;
    }
  }

  async run(program: Program, options: RunOptions): Promise<RunOutcome> {
    if (this.used || this.destroyed) throw new Error('a sandbox runs exactly one program');
    this.used = true;
    const runtime = this.settings.runtimes.get(program.runtime);
    if (!runtime) throw new Error(`runtime ${program.runtime} is not available on this worker`);

    await this.writeFiles([...program.files, { path: program.entryFile, content: Buffer.from(program.source) }]);

    const memoryByCgroup = this.settings.cgroups?.controllers.includes('memory') ?? false;
    const outcome = await runBwrap({
      bwrapPath: this.settings.bwrapPath,
      launcher: [
        this.settings.prlimitPath,
        ...rlimitFlags(this.limits, {
          memoryByCgroup,
          pidsByCgroup: this.settings.cgroups?.controllers.includes('pids') ?? false,
          runtime: program.runtime,
        }),
        '--',
      ],
      options: sandboxArguments({
        systemMounts: this.settings.systemMounts,
        hostWorkDir: this.hostWorkDir,
        env: program.env,
        tmpSizeBytes: this.limits.memoryMb * MiB,
      }),
      command: sandboxCommand(this.settings.shellPath, [runtime.executable, ...runtime.flags, program.entryFile, ...program.args]),
      seccomp: this.settings.seccomp,
      stdin: program.stdin,
      uid: this.identity?.uid,
      gid: this.identity?.gid,
      timeoutMs: this.limits.timeoutMs,
      maxOutputBytes: this.limits.maxOutputBytes,
      signal: options.signal,
      onOutput: options.onOutput,
      beforeStart: this.cgroup ? (pid) => this.cgroup!.addProcess(pid) : undefined,
    });
    // The OOM killer's SIGKILL looks like any other; the cgroup knows it was memory.
    if (this.cgroup && memoryByCgroup && (outcome.termination === 'exited' || outcome.termination === 'output_exceeded')) {
      if (await this.cgroup.oomKilled()) return { ...outcome, termination: 'memory_exceeded', exitCode: null, signal: 'SIGKILL' };
    }
    return outcome;
  }

  async collectArtifacts(patterns: string[], maxBytes: number): Promise<ArtifactCollection> {
    if (!this.used || this.destroyed) throw new Error('artifacts are read after the run and before destroy');
    return await collectArtifacts(this.hostWorkDir, patterns, maxBytes);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.cgroup?.destroy();
    if (this.mounted) await unmountWorkDir(this.hostWorkDir);
    await rm(this.hostWorkDir, { recursive: true, force: true });
    if (this.identity) await this.settings.identities?.release(this.identity);
  }

  private async writeFiles(files: ProgramFile[]): Promise<void> {
    for (const file of files) {
      const target = path.join(this.hostWorkDir, file.path);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      const handle = await open(target, CREATE_FLAGS, 0o644);
      try {
        await handle.writeFile(file.content);
      } finally {
        await handle.close();
      }
    }
    if (this.identity) await this.handOver(this.hostWorkDir);
  }

  /** Gives every file the worker wrote to the sandbox's identity, so the program may change them. */
  private async handOver(dir: string): Promise<void> {
    const { uid, gid } = this.identity!;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      await lchown(full, uid, gid);
      if (entry.isDirectory()) await this.handOver(full);
    }
  }
}
