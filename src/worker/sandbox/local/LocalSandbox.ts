import { closeSync, constants, lchownSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { Limits } from '../../../shared/contract/limits.js';
import type { ArtifactCollection } from '../Artifact.js';
import { SandboxLostError } from '../SandboxLostError.js';
import type { Program, ProgramCase, ProgramFile, RunOptions, RunOutcome, Runtime, WarmSandbox } from '../SandboxProvider.js';
import { transpilerArgs } from '../../program/transpiler.js';
import { programEnvironment } from '../common/sandboxEnvironment.js';
import { programFiles } from '../common/jobSpec.js';
import { checkArtifactsReadable, checkRunnable } from '../common/oneProgram.js';
import { asMemoryExceeded, mayBeMemoryKill } from '../common/runOutcome.js';
import { transpilerNodeVersion } from '../common/runtimeFlags.js';
import { ProgramInputError } from '../ProgramInputError.js';
import { BASE_ENV, sandboxArguments, sandboxCommand } from './bwrapArguments.js';
import { BwrapProcess, type BwrapRunInput } from './BwrapProcess.js';
import { CaseRunner } from './CaseRunner.js';
import { caseRunnerCommand, GO_FILE } from './caseRunnerScript.js';
import { pythonCaseRunnerCommand } from './pythonCaseRunnerScript.js';
import type { CgroupHierarchy } from './cgroups/CgroupHierarchy.js';
import type { CgroupLimits } from './cgroups/CgroupLimits.js';
import type { JobCgroup } from './cgroups/JobCgroup.js';
import { collectArtifacts } from './collectArtifacts.js';
import { compileOutputs, modificationTimes } from './compileOutputs.js';
import { removeTree } from './removeTree.js';
import type { IdentityPool, SandboxIdentity } from './IdentityPool.js';
import { launcherCommand, specFiles, STDIN_FILE } from './launchers.js';
import { rlimitFlags } from './resourceLimits.js';
import { resolveCommand } from './runtimes.js';

const MiB = 1024 * 1024;

export interface LocalSandboxSettings {
  bwrapPath: string;
  prlimitPath: string;
  /** Takes the sandbox's identity after the worker has put the new process in the job's cgroup. */
  setprivPath: string;
  /** bash under /usr, which closes inherited descriptors before the program starts. */
  shellPath: string;
  /** The worker's execute-only copy of bash that test cases' runners run (see caseRunnerScript.ts). */
  runnerShellPath: string;
  /** `auto`: test cases run on the Python runner where python3 is a runtime here (pythonCaseRunnerScript.ts), else on bash's. */
  caseRunner: 'auto' | 'bash';
  systemMounts: string[];
  runtimes: ReadonlyMap<Runtime, { executable: string; flags: string[]; version: string }>;
  /** Read-only host files bound into each sandbox of a runtime (the TypeScript transpiler for node), by path inside. */
  tools: ReadonlyMap<Runtime, ReadonlyMap<string, string>>;
  /** This worker's own directory under the work root, where job work dirs are made (see WorkerDirectory). */
  workDir: string;
  /** A host uid per sandbox when the worker is root; undefined = sandboxes run as the worker's own uid. */
  identities: IdentityPool | undefined;
  /** Per-job memory/pids/cpu limits; undefined = rlimit fallback. */
  cgroups: CgroupHierarchy | undefined;
  seccomp: Buffer;
  cpusPerJob: number;
}

/** O_NOFOLLOW | O_EXCL: a job file is always a new regular file, never written through a link. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

let sequence = 0;

/**
 * One bubblewrap sandbox: its own host uid, a private work dir (on the
 * worker's tmpfs, see workDirMount.ts), a
 * cgroup, and the runtime's interpreter already started and waiting for its
 * job (see launchers.ts); one program, then every trace removed.
 *
 * A sandbox can start before its job is known (the pool). What is fixed at
 * start is sized for the largest job the operator allows, and the job's own
 * limits are applied when it is claimed, before its program runs:
 * - memory and processes: the cgroup's limits are lowered to the job's
 *   (`claim`), and the kernel enforces them from then on. /work, /tmp and
 *   /dev/shm are all tmpfs, and every page stored there is charged to the
 *   job's memory cgroup, so the job's limit bounds them.
 * - time starts when the program is handed its job, not at the sandbox start.
 * Without cgroups the limits (rlimits) can only be set at start, so then
 * every sandbox is started for its job (see LocalSandboxProvider.canPrewarm).
 */
export class LocalSandbox implements WarmSandbox {
  readonly startedAt = Date.now();
  private limits: Limits;
  private used = false;
  private destroyed = false;
  /** What the compile wrote: never an artifact. */
  private compiled: ReadonlySet<string> = new Set();

  private constructor(
    private readonly settings: LocalSandboxSettings,
    readonly runtime: Runtime,
    startLimits: Limits,
    private readonly hostWorkDir: string,
    /** Where the worker writes the launcher's spec and the job's stdin, bound read-only into the sandbox. */
    private readonly specDir: string,
    private readonly identity: SandboxIdentity | undefined,
    private readonly cgroup: JobCgroup | undefined,
    /** The sandbox's current process: the warm one, then for a compiled language the program's own. */
    private bwrap: BwrapProcess,
  ) {
    this.limits = startLimits;
  }

  /** Starts a sandbox for `runtime` with `limits` (a job's, or the largest allowed for a pooled one). */
  static async start(settings: LocalSandboxSettings, runtime: Runtime, limits: Limits, options: { forPool: boolean }): Promise<LocalSandbox> {
    const command = settings.runtimes.get(runtime);
    if (!command) throw new Error(`runtime ${runtime} is not available on this worker`);
    const identity = await settings.identities?.acquire();
    let hostWorkDir: string | undefined;
    let specDir: string | undefined;
    let cgroup: JobCgroup | undefined;
    try {
      // Neutral names: the job sees them in /proc/self/mountinfo, so they say nothing of the worker.
      hostWorkDir = await mkdtemp(path.join(settings.workDir, 'j'));
      specDir = await makeSpecDir(settings.workDir);
      // Named after the worker's pid, so a restarted worker can tell orphans from a neighbour's jobs.
      cgroup = await settings.cgroups?.createJob(`${process.pid}-${++sequence}-${path.basename(hostWorkDir).slice(-6)}`, cgroupLimits(limits, settings.cpusPerJob, options.forPool));
      if (identity) await chown(hostWorkDir, identity.uid, identity.gid);
      const bwrap = await LocalSandbox.launch(settings, runtime, limits, { hostWorkDir, specDir, identity, cgroup });
      return new LocalSandbox(settings, runtime, limits, hostWorkDir, specDir, identity, cgroup, bwrap);
    } catch (error) {
      await cgroup?.destroy().catch(() => {});
      if (hostWorkDir) await removeTree(hostWorkDir).catch(() => {});
      if (specDir) await removeTree(specDir).catch(() => {});
      if (identity) await settings.identities?.release(identity);
      throw error;
    }
  }

  /** Starts bubblewrap with the runtime's launcher waiting in it, in the sandbox's work dir, identity and cgroup. */
  private static async launch(
    settings: LocalSandboxSettings,
    runtime: Runtime,
    limits: Limits,
    where: { hostWorkDir: string; specDir: string; identity: SandboxIdentity | undefined; cgroup: JobCgroup | undefined; caseRunner?: boolean },
  ): Promise<BwrapProcess> {
    const command = settings.runtimes.get(runtime);
    if (!command) throw new Error(`runtime ${runtime} is not available on this worker`);
    const { hostWorkDir, specDir, identity, cgroup, caseRunner = false } = where;
    const launcher = launcherCommand(runtime, command.executable, command.flags);
    return await BwrapProcess.start({
      bwrapPath: settings.bwrapPath,
      launcher: [
        settings.prlimitPath,
        ...rlimitFlags(limits, {
          memoryByCgroup: settings.cgroups?.controllers.includes('memory') ?? false,
          pidsByCgroup: settings.cgroups?.controllers.includes('pids') ?? false,
          runtime,
        }),
        '--',
      ],
      options: sandboxArguments({
        systemMounts: settings.systemMounts,
        tools: settings.tools.get(runtime),
        hostWorkDir,
        tmpSizeBytes: limits.memoryMb * MiB,
        specDir,
        ...(caseRunner ? { caseRunner: { shell: settings.runnerShellPath, workSizeBytes: limits.memoryMb * MiB } } : {}),
      }),
      command: sandboxCommand(settings.shellPath, caseRunner ? LocalSandbox.caseRunnerCommand(settings, runtime, launcher) : launcher),
      seccomp: settings.seccomp,
      identity,
      cgroup: cgroup && { shell: settings.shellPath, setpriv: settings.setprivPath, procsFiles: cgroup.procsFiles },
    });
  }

  /** The command of a test cases' runner for `runtime`: Python's where it may, else bash's. */
  private static caseRunnerCommand(settings: LocalSandboxSettings, runtime: Runtime, launcher: string[]): string[] {
    const python = settings.caseRunner === 'auto' ? settings.runtimes.get('python') : undefined;
    return python ? pythonCaseRunnerCommand(runtime, python, launcher) : caseRunnerCommand(runtime, launcher);
  }

  get alive(): boolean {
    return this.bwrap.alive && !this.destroyed;
  }

  onExit(callback: () => void): void {
    this.bwrap.onExit(callback);
  }

  /** Takes on a job's limits; false when it cannot (then destroy it and start another). */
  async claim(limits: Limits): Promise<boolean> {
    if (!this.alive || this.used) return false;
    // Open files and file size are rlimits, fixed when bwrap started; so is CPU time where no cgroup counts it.
    if (limits.maxOpenFiles !== this.limits.maxOpenFiles || limits.maxFileBytes !== this.limits.maxFileBytes) return false;
    const cgroups = this.settings.cgroups;
    const cpuCounted = cgroups !== undefined && (cgroups.version === 2 || cgroups.controllers.includes('cpuacct'));
    if (!cpuCounted && limits.cpuTimeMs !== this.limits.cpuTimeMs) return false;
    if (this.cgroup) {
      try {
        await this.cgroup.setLimits(cgroupLimits(limits, this.settings.cpusPerJob));
      } catch {
        return false;
      }
    } else if (limits.memoryMb !== this.limits.memoryMb || limits.maxProcesses !== this.limits.maxProcesses) {
      return false;
    }
    this.limits = limits;
    return this.alive;
  }

  async run(program: Program, options: RunOptions): Promise<RunOutcome> {
    checkRunnable({ runtime: this.runtime, used: this.used, destroyed: this.destroyed }, program);
    this.used = true;
    if (!this.bwrap.alive) throw new SandboxLostError(this.bwrap.preludeText() || 'no output');
    const files = programFiles(program);
    this.writeFiles(files);
    const run: Step = { command: program.command, args: program.args, stdin: program.stdin };
    if (!program.compile && !program.cases) return await this.runStep(program, run, options);
    // Test cases get a cgroup of their own, with the job's limits: nothing the warm process or the compile leaves in
    // the sandbox's (an init bwrap left for the host's pid 1 to reap still holds its pid there) counts against them.
    const casesCgroup = program.cases && this.cgroup ? await this.settings.cgroups!.createJob(`${this.cgroup.name}-cases`, cgroupLimits(options.limits, this.settings.cpusPerJob)) : undefined;
    try {
      return await this.compileAndRun(program, files, run, options, casesCgroup);
    } finally {
      await casesCgroup?.destroy();
    }
  }

  /** The compile (if the language has one), then the program or its cases, each on fresh processes. */
  private async compileAndRun(program: Program, files: ProgramFile[], run: Step, options: RunOptions, casesCgroup: JobCgroup | undefined): Promise<RunOutcome> {
    let compile: RunOutcome | undefined;
    // The program's own process (or the cases' runner) starts once the compiler runs, and waits for its go: its
    // start (a spawn that holds the event loop for milliseconds) overlaps the compile instead of coming before it.
    let programProcess: Promise<BwrapProcess> | undefined;
    if (program.compile) {
      const written = modificationTimes(this.hostWorkDir, files.map((file) => file.path));
      // The program's bwrap, init and shell are sandq's, not the compiler's: they get room of their own in the cgroup.
      if (!program.cases) await this.cgroup?.setLimits(cgroupLimits(this.limits, this.settings.cpusPerJob, false, WAITING_SANDBOX_PROCESSES));
      // The compile: on the warm process, under the compile limits the sandbox was claimed with, its output its own.
      // Its go is sent before this call returns; what it awaits is the compiler's end.
      const compiling = this.runStep(program, { command: program.compile.command, args: [], stdin: '' }, { ...options, onOutput: undefined });
      programProcess = program.cases
        ? LocalSandbox.launch(this.settings, this.runtime, options.limits, { ...this.where(), cgroup: casesCgroup, caseRunner: true })
        : LocalSandbox.launch(this.settings, this.runtime, options.limits, this.where());
      programProcess.catch(() => {});
      const unused = async () => {
        await programProcess?.then((bwrap) => bwrap.stop(), () => {});
      };
      try {
        compile = await compiling;
        // Whatever it wrote, a failed compile's half-built objects included.
        this.compiled = compileOutputs(this.hostWorkDir, written);
      } catch (error) {
        await unused();
        throw error;
      }
      if (compile.termination !== 'exited' || compile.exitCode !== 0) {
        await unused();
        return compile.termination === 'cancelled' ? { ...compile, stdout: '', stderr: '', compile } : compileFailed(compile);
      }
      // The program: fresh processes in the same work dir, identity and cgroup, under the job's own limits.
      this.limits = options.limits;
      try {
        await this.cgroup?.setLimits(cgroupLimits(options.limits, this.settings.cpusPerJob));
      } catch {
        await unused();
        // What the compile left in the work dir (a tmpfs, charged to the job) is over the program's memory limit.
        return { ...compileFailed(compile), termination: 'memory_exceeded', limit: 'memoryMb' };
      }
    }
    // The warm (or compiling) process is done with: the program gets a process of its own, the cases a runner.
    await this.bwrap.stop();
    if (program.cases) return { ...(await this.runCases(program, program.cases, options, casesCgroup, programProcess)), ...(compile ? { compile } : {}) };
    const ran = await this.runFresh(program, run, options.limits, options, programProcess);
    return { ...ran, ...(compile ? { compile } : {}) };
  }

  /**
   * The cases one after another, each on a fresh sandbox state, with the
   * job's limits (a case's own timeout may be lower), in one sandbox whose
   * runner (caseRunnerScript.ts) resets /work to a copy of the job's work
   * dir as the compile left it, empties /tmp, /dev/shm and IPC, and kills
   * whatever a case left running: nothing a case writes reaches the next.
   * The cases' cgroup is theirs in turn, its CPU and peak counted from each
   * case's start. A case the worker stops (its time, its output, a
   * cancel) takes the runner down with it; the next case gets a new one.
   * Cases after a cancel are not run.
   */
  private async runCases(program: Program, cases: readonly ProgramCase[], options: RunOptions, cgroup: JobCgroup | undefined, prelaunched?: Promise<BwrapProcess>): Promise<RunOutcome> {
    const outcomes: RunOutcome[] = [];
    let runner: CaseRunner | undefined;
    // The first may have started during the compile; one that died waiting (the compile's memory) is replaced.
    const startRunner = async (waiting?: Promise<BwrapProcess>) => {
      const started = await waiting?.catch(() => undefined);
      return new CaseRunner(started?.alive ? started : await LocalSandbox.launch(this.settings, this.runtime, options.limits, { ...this.where(), cgroup, caseRunner: true }));
    };
    // Each case's launcher reads its go from this file.
    writeFileSync(path.join(this.specDir, GO_FILE), '\n', { mode: 0o644 });
    try {
      for (let index = 0; index < cases.length; index++) {
        let outcome: RunOutcome;
        if (options.signal?.aborted) {
          outcome = notRun();
        } else {
          if (!runner?.alive) {
            await runner?.stop();
            runner = await startRunner(index === 0 ? prelaunched : undefined);
          }
          let reset = await runner.reset();
          if (reset !== 'ready') {
            // The runner died between cases, or what a case left could not be removed: a new sandbox, once.
            await runner.stop();
            runner = await startRunner();
            reset = await runner.reset();
            if (reset === 'gone') throw new SandboxLostError(runner.preludeText() || 'the test cases\' runner ended before a case');
          }
          outcome = reset === 'failed' ? workCopyFailed() : await this.runCase(program, cases[index]!, runner, cgroup, options);
        }
        outcomes.push(outcome);
        options.onCase?.(index, outcome);
      }
    } finally {
      await runner?.stop();
      await prelaunched?.then((bwrap) => bwrap.stop(), () => {});
    }
    return casesOutcome(outcomes);
  }

  /** One case on the runner: its spec in the spec dir (the case before is gone, so none sees another's input), its figures its own. */
  private async runCase(program: Program, testCase: ProgramCase, runner: CaseRunner, cgroup: JobCgroup | undefined, options: RunOptions): Promise<RunOutcome> {
    const limits = { ...options.limits, timeoutMs: testCase.timeoutMs, maxOutputBytes: testCase.maxOutputBytes };
    this.writeSpec(program, { command: program.command, args: testCase.args, stdin: testCase.stdin }, this.specDir);
    cgroup?.resetMemoryPeak();
    return await this.watchStep({ bwrap: runner, cgroup, limits }, { ...options, onOutput: undefined });
  }

  /** One step in a new sandbox process (the current one must be stopped; `started`, one already waiting): the program after its compile. */
  private async runFresh(program: Program, step: Step, limits: Limits, options: RunOptions, started?: Promise<BwrapProcess>): Promise<RunOutcome> {
    this.limits = limits;
    // The program's peak is its own, not the compiler's (where the kernel can say so).
    this.cgroup?.resetMemoryPeak();
    this.writeSpec(program, step, this.specDir);
    // One that did not start, or died waiting (the compile's memory), is replaced.
    const waiting = started && (await started.catch(() => undefined));
    this.bwrap = waiting?.alive ? waiting : await LocalSandbox.launch(this.settings, this.runtime, limits, this.where());
    try {
      return await this.watchStep(this.current(), options);
    } finally {
      await this.bwrap.stop();
    }
  }

  /** One step on the current process: its spec handed over, its stdin fed, watched to the end under the sandbox's limits. */
  private async runStep(program: Program, step: Step, options: RunOptions): Promise<RunOutcome> {
    this.writeSpec(program, step, this.specDir);
    return await this.watchStep(this.current(), options);
  }

  /** The sandbox's own process, as a step runs on it. */
  private current(): StepProcess {
    return { bwrap: this.bwrap, cgroup: this.cgroup, limits: this.limits };
  }

  /** The launcher's spec for a step, and its stdin, in a spec dir (the sandbox's, or a case's own); synchronous for the reason writeFiles is. */
  private writeSpec(program: Program, step: Step, dir: string): void {
    const { transpile } = program;
    const nodeVersion = transpilerNodeVersion(this.settings.runtimes.get('node')?.version);
    const spec = specFiles({
      entry: program.entryFile,
      command: resolveCommand(step.command),
      transpile: transpile && { args: transpilerArgs(transpile.from, nodeVersion) },
      args: [...step.args],
      env: programEnvironment(BASE_ENV, program.env),
    });
    // The worker's own dir, read-only in the sandbox: nothing there but what the worker wrote.
    writeFileSync(path.join(dir, 'spec.json'), spec.json, { mode: 0o644 });
    writeFileSync(path.join(dir, 'spec.nul'), spec.nul, { mode: 0o644 });
    writeFileSync(path.join(dir, STDIN_FILE), step.stdin, { mode: 0o644 });
  }

  /** Where the sandbox's processes start: its work dir, spec dir, identity and cgroup. */
  private where(): { hostWorkDir: string; specDir: string; identity: SandboxIdentity | undefined; cgroup: JobCgroup | undefined } {
    return { hostWorkDir: this.hostWorkDir, specDir: this.specDir, identity: this.identity, cgroup: this.cgroup };
  }

  /** Starts a process's step and watches it to its end: timeouts (wall and CPU), output caps, memory. */
  private async watchStep(process: StepProcess, options: RunOptions): Promise<RunOutcome> {
    const { bwrap, cgroup, limits } = process;
    const oomKillsBefore = cgroup?.oomKills() ?? 0;
    const cpuAtStart = cgroup?.cpuUsageMicros() ?? null;
    const cpuWatch = cpuAtStart === null || !cgroup ? undefined : this.watchCpuTime(process, cgroup, cpuAtStart);
    let used: Pick<RunOutcome, 'cpuTimeMs' | 'memoryPeakBytes'> = { cpuTimeMs: null, memoryPeakBytes: null };
    const ran = await bwrap
      .run({
        // The newline is the launcher's go signal; the job's stdin is the file above.
        stdin: '\n',
        timeoutMs: limits.timeoutMs,
        maxOutputBytes: limits.maxOutputBytes,
        signal: options.signal,
        onOutput: options.onOutput,
        outputEncoding: options.outputEncoding,
        onEnd: () => {
          cpuWatch?.stop();
          used = resourceUse(cgroup, cpuAtStart);
        },
      })
      .finally(() => cpuWatch?.stop());
    const outcome = { ...ran, ...used };
    // The OOM killer's SIGKILL looks like any other; the cgroup knows it was memory.
    const memoryByCgroup = this.settings.cgroups?.controllers.includes('memory') ?? false;
    const oomKilled = () => cgroup !== undefined && memoryByCgroup && cgroup.oomKills() > oomKillsBefore;
    if (outcome.termination === 'exited' && !bwrap.started) {
      // The kernel's OOM killer may have picked sandq's own start-up (the launcher, a case runner) over a program.
      if (oomKilled()) return asMemoryExceeded(outcome);
      // Without the launcher's acknowledgement the program never started: the sandbox died as it was claimed.
      throw new SandboxLostError(`exit ${outcome.exitCode ?? outcome.signal}; ${bwrap.preludeText() || 'no output'}`);
    }
    if (mayBeMemoryKill(outcome) && oomKilled()) return asMemoryExceeded(outcome);
    return outcome;
  }

  /**
   * Stops the program once the step's processes together have used
   * limits.cpuTimeMs of CPU (cgroup accounting; RLIMIT_CPU would count each
   * process apart). Polled: the next look comes when the budget could be
   * spent at the earliest, if every CPU the job may use were busy.
   */
  private watchCpuTime(process: StepProcess, cgroup: JobCgroup, cpuAtStart: number): { stop(): void } {
    const budgetMicros = process.limits.cpuTimeMs * 1000;
    const cpus = Math.max(1, this.settings.cpusPerJob);
    const wait = (ms: number) => Math.min(CPU_POLL_MAX_MS, Math.max(CPU_POLL_MIN_MS, ms));
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const look = () => {
      const used = (readOrNull(() => cgroup.cpuUsageMicros()) ?? cpuAtStart) - cpuAtStart;
      if (stopped) return;
      if (used >= budgetMicros) {
        process.bwrap.stopForCpuTime();
        return;
      }
      timer = setTimeout(look, wait((budgetMicros - used) / 1000 / cpus));
    };
    timer = setTimeout(look, wait(process.limits.cpuTimeMs / cpus));
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  async collectArtifacts(patterns: string[], maxBytes: number): Promise<ArtifactCollection> {
    checkArtifactsReadable({ used: this.used, destroyed: this.destroyed });
    return await collectArtifacts(this.hostWorkDir, patterns, maxBytes, this.compiled);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.bwrap.stop();
    try {
      await this.cgroup?.destroy();
    } finally {
      // The files go whatever happens.
      await removeTree(this.hostWorkDir);
      await removeTree(this.specDir);
    }
    // The uid is handed on only once the cgroup is empty and gone (a throw above keeps it).
    if (this.identity) await this.settings.identities?.release(this.identity);
  }

  /**
   * Synchronous on purpose: the work dir is a tmpfs, where each call is a few
   * microseconds, and this is on the job's clock; the async API would queue
   * each open, write and close behind other work on libuv's small thread pool.
   */
  private writeFiles(files: ProgramFile[]): void {
    for (const file of files) {
      const target = path.join(this.hostWorkDir, file.path);
      try {
        mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
        const fd = openSync(target, CREATE_FLAGS, 0o644);
        try {
          writeSync(fd, file.content);
        } finally {
          closeSync(fd);
        }
      } catch (error) {
        // The request's path is the user's; the host's error message would show where the work dir lives.
        throw new ProgramInputError(`could not write ${JSON.stringify(file.path)} in /work: ${describeFsError(error)}`);
      }
    }
    if (this.identity) this.handOver(files);
  }

  /** Gives the files the worker wrote, and the directories it made for them, to the sandbox's identity, so the program may change them. */
  private handOver(files: ProgramFile[]): void {
    const { uid, gid } = this.identity!;
    const done = new Set<string>();
    for (const file of files) {
      const segments = file.path.split('/');
      for (let i = 1; i <= segments.length; i++) {
        const relative = segments.slice(0, i).join('/');
        if (done.has(relative)) continue;
        done.add(relative);
        lchownSync(path.join(this.hostWorkDir, relative), uid, gid);
      }
    }
  }
}

/** bwrap and its init (pid 1 of the sandbox) live in the job's cgroup too; they are not the program's to spend. */
const SANDBOX_INIT_PROCESSES = 2;

const FS_ERRORS: Record<string, string> = {
  ENAMETOOLONG: 'the path is too long for the filesystem',
  ENOSPC: 'no space is left in the work dir',
  EDQUOT: 'no space is left in the work dir',
  EEXIST: 'a file or directory of that name is already there',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'a directory of that name is already there',
};

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return `${FS_ERRORS[code] ?? 'the filesystem refused it'} (${code})`;
}

/** A fresh spec dir under the worker's dir, readable by the sandbox's identity (which cannot write it). */
async function makeSpecDir(workDir: string): Promise<string> {
  const dir = await mkdtemp(path.join(workDir, 's'));
  await chmod(dir, 0o755);
  return dir;
}

/** What runs a step's program: a sandbox process (BwrapProcess), or a case runner for one case. */
interface StepRunner {
  run(input: BwrapRunInput): Promise<RunOutcome>;
  /** Whether the program was handed its job. */
  readonly started: boolean;
  stopForCpuTime(): void;
  preludeText(): string;
}

/** What a step runs on: its runner, its cgroup, its limits. */
interface StepProcess {
  bwrap: StepRunner;
  cgroup: JobCgroup | undefined;
  limits: Limits;
}

/** What a step used, from its cgroup: CPU since `cpuAtStart`, and the memory peak. */
function resourceUse(cgroup: JobCgroup | undefined, cpuAtStart: number | null): Pick<RunOutcome, 'cpuTimeMs' | 'memoryPeakBytes'> {
  if (!cgroup) return { cpuTimeMs: null, memoryPeakBytes: null };
  const cpuNow = cpuAtStart === null ? null : cgroup.cpuUsageMicros();
  return { cpuTimeMs: cpuNow === null || cpuAtStart === null ? null : Math.round((cpuNow - cpuAtStart) / 1000), memoryPeakBytes: cgroup.memoryPeakBytes() };
}

/** A cgroup read that may fail (the cgroup going as the sandbox is destroyed): null then. */
function readOrNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** One program start: its command, args and stdin. */
interface Step {
  command: readonly string[];
  args: readonly string[];
  stdin: string;
}

/** A case that never ran: the execution was cancelled before it. */
function notRun(): RunOutcome {
  return {
    ...{ termination: 'not_run', exitCode: null, signal: null, stdout: '', stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8', stdoutTruncated: false, stderrTruncated: false },
    ...{ durationMs: 0, cpuTimeMs: null, memoryPeakBytes: null, limit: null },
  };
}

/** The run of a test-case submission as a whole: the cases', summed; cancelled when one was. */
function casesOutcome(cases: RunOutcome[]): RunOutcome {
  const ran = cases.filter((c) => c.termination !== 'not_run');
  const sum = (values: (number | null)[]) => (values.every((v) => v !== null) ? values.reduce<number>((a, b) => a + b!, 0) : null);
  const peaks = cases.map((c) => c.memoryPeakBytes).filter((p): p is number => p !== null);
  return {
    ...{ termination: cases.some((c) => c.termination === 'cancelled') ? 'cancelled' : 'exited', exitCode: null, signal: null, stdout: '', stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8' },
    ...{ stdoutTruncated: false, stderrTruncated: false, limit: null, cases },
    durationMs: cases.reduce((total, c) => total + c.durationMs, 0),
    cpuTimeMs: sum(ran.map((c) => c.cpuTimeMs)),
    memoryPeakBytes: peaks.length > 0 ? Math.max(...peaks) : null,
  };
}

/** A compile that failed: the program never ran, the compiler's outcome says why. */
function compileFailed(compile: RunOutcome): RunOutcome {
  return {
    ...{ termination: 'compile_failed', exitCode: null, signal: null, stdout: '', stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8', stdoutTruncated: false, stderrTruncated: false },
    ...{ durationMs: 0, cpuTimeMs: null, memoryPeakBytes: null, limit: null, compile },
  };
}

/** A case whose fresh /work could not be made: the job's files do not fit it, or one is over maxFileBytes. */
function workCopyFailed(): RunOutcome {
  return {
    ...notRun(),
    termination: 'exited',
    stderr: "sandq: the job's files could not be copied into this case's /work: together they are over limits.memoryMb, or one is over limits.maxFileBytes\n",
  };
}

/** A started sandbox waiting for its go: bwrap, its init, the launcher. */
const WAITING_SANDBOX_PROCESSES = 3;

/** Bounds of the CPU-time poll: often enough to stop a busy program close to its budget, rarely enough to cost nothing. */
const CPU_POLL_MIN_MS = 10;
const CPU_POLL_MAX_MS = 100;

/** `helperProcesses`: sandq's own processes the cgroup holds beside the job's (a case's cp, a waiting program sandbox). */
function cgroupLimits(limits: Limits, cpus: number, background = false, helperProcesses = 0): CgroupLimits {
  return { memoryBytes: limits.memoryMb * MiB, maxProcesses: limits.maxProcesses + SANDBOX_INIT_PROCESSES + helperProcesses, cpus, background };
}
