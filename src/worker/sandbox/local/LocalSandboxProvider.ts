import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Limits } from '../../../shared/contract/limits.js';
import { MissingPrerequisiteError } from '../../../shared/errors/MissingPrerequisiteError.js';
import { findExecutable, locateProgram } from '../../../shared/findExecutable.js';
import type { Logger } from '../../../shared/logger.js';
import { locateTranspiler } from '../../program/transpiler.js';
import type { LanguageVersion, Runtime, RuntimeVersion, Sandbox, SandboxProvider, WarmSandbox } from '../SandboxProvider.js';
import { BASH_NO_STARTUP_FILES, sandboxArguments, sandboxCommand, systemMounts } from './bwrapArguments.js';
import type { CgroupHierarchy } from './cgroups/CgroupHierarchy.js';
import { detectCgroups } from './cgroups/detectCgroups.js';
import { IdentityPool } from './IdentityPool.js';
import { isProcessGone } from './isProcessGone.js';
import type { IsolationReport } from './IsolationReport.js';
import { BwrapProcess } from './BwrapProcess.js';
import { installTool } from './installTool.js';
import { TRANSPILER_PATH } from './launchers.js';
import { LocalSandbox, type LocalSandboxSettings } from './LocalSandbox.js';
import { locateRuntimes, missingPrograms, resolveCommand } from './runtimes.js';
import type { LanguageDefinition } from '../../../shared/languages/languageDefinition.js';
import { runtimeFlags } from '../common/runtimeFlags.js';
import { versionFromAnswer } from '../common/interpreters.js';
import { ensureWorkRootTmpfs } from './workDirMount.js';
import { WorkerDirectory } from './WorkerDirectory.js';
import { buildSeccompFilter, describeSeccompFilter } from './seccomp/seccompFilter.js';

const BWRAP_INSTALL_HINT =
  'Install bubblewrap with `sudo apt-get install bubblewrap` (Debian/Ubuntu) or `sudo dnf install bubblewrap` (Fedora), or set BWRAP_PATH.';

const NAMESPACES = ['user', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'mnt'] as const;

export interface LocalProviderOptions {
  bwrapPath?: string;
  workRoot: string;
  /** First host uid of the per-sandbox range, used when the worker runs as root. */
  uidBase: number;
  uidCount: number;
  cpusPerJob: number;
  /** What a pooled sandbox starts with: the largest limits a job may ask for, but open files and file size (rlimits, fixed at start) at their defaults. */
  poolLimits: Limits;
  logger: Logger;
  /** Where cgroups live; tests point it elsewhere. */
  cgroupRoot?: string;
  /**
   * What runs test cases: `auto`, the Python runner where python3 is here, else bash's.
   * @defaultValue 'auto'
   */
  caseRunner?: 'auto' | 'bash';
  /** The defined languages; those whose toolchain answers in a sandbox here are offered. */
  languages: readonly LanguageDefinition[];
}

/** Sandboxes built from bubblewrap namespaces, seccomp and cgroups on this host. */
export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local';

  readonly canPrewarm: boolean;

  private constructor(
    private readonly settings: LocalSandboxSettings,
    private readonly versions: RuntimeVersion[],
    readonly isolation: IsolationReport,
    private readonly poolLimits: Limits,
    private readonly directory: WorkerDirectory,
    readonly transpiles: boolean,
    private readonly offered: readonly LanguageVersion[],
  ) {
    // A job's limits can be applied to a started sandbox only through its cgroup.
    const controllers = settings.cgroups?.controllers ?? [];
    this.canPrewarm = controllers.includes('memory') && controllers.includes('pids');
  }

  /**
   * Finds bwrap and the interpreters, sets up identities, seccomp and cgroups,
   * then proves the sandbox works by asking each interpreter its version from
   * inside one; fails with what to do next.
   */
  static async start(options: LocalProviderOptions): Promise<LocalSandboxProvider> {
    const bwrapPath = locateProgram({ variable: 'BWRAP_PATH', value: options.bwrapPath, program: 'bwrap', installHint: BWRAP_INSTALL_HINT });
    const prlimitPath = findExecutable('prlimit');
    if (!prlimitPath) throw new MissingPrerequisiteError('prlimit', 'It comes with util-linux: `sudo apt-get install util-linux`.');
    const setprivPath = findExecutable('setpriv');
    if (!setprivPath) throw new MissingPrerequisiteError('setpriv', 'It comes with util-linux: `sudo apt-get install util-linux`.');

    // 0711: sandbox identities may reach their own job dir but not list the others.
    await mkdir(options.workRoot, { recursive: true, mode: 0o711 });
    await chmod(options.workRoot, 0o711);

    const shellPath = locateRuntimes().find((r) => r.runtime === 'bash')?.executable;
    if (!shellPath) throw new MissingPrerequisiteError('bash (under /usr)', 'The sandbox starts every program through bash: `sudo apt-get install bash`.');

    const warnings: string[] = [];
    const isRoot = process.getuid?.() === 0;
    const workRootTmpfs = isRoot && (await ensureWorkRootTmpfs(options.workRoot));
    if (!isRoot) warnings.push('the worker is not root: every sandbox runs as the worker\'s own uid');
    if (!workRootTmpfs) warnings.push(`${options.workRoot} is not a tmpfs: what a job writes to /work goes to disk, bounded per file by RLIMIT_FSIZE only`);
    const identities = isRoot ? new IdentityPool(path.join(options.workRoot, '.identities'), options.uidBase, options.uidCount) : undefined;

    // Without seccomp the kernel's whole syscall surface is open to the program: refuse to run.
    const seccomp = buildSeccompFilter();

    const cgroupSetup = await openCgroups(options.cgroupRoot);
    let cgroups: CgroupHierarchy | undefined;
    if ('hierarchy' in cgroupSetup) {
      cgroups = cgroupSetup.hierarchy;
      const stale = await cgroups.removeStale(isOrphanedJob);
      if (stale > 0) options.logger.warn({ stale }, 'removed job cgroups left by an earlier worker');
    } else {
      warnings.push(`no writable cgroup hierarchy (${cgroupSetup.reason}); memory and process limits fall back to rlimits, which cannot bound Node's memory`);
    }
    const { directory, removedOrphans } = await WorkerDirectory.open(options.workRoot);
    if (removedOrphans > 0) options.logger.warn({ stale: removedOrphans }, 'removed work dirs left by an earlier worker');
    // Whatever stops the start from here leaves no directory behind.
    try {
      const transpiler = locateTranspiler();
      const tools = new Map<Runtime, ReadonlyMap<string, string>>();
      if (transpiler) tools.set('node', new Map([[TRANSPILER_PATH, await installTool(options.workRoot, transpiler, 'esbuild', 0o755)]]));
      // Test cases' runner: bash, execute-only, so that the cases it runs cannot reach into it.
      const runnerShellPath = await installTool(options.workRoot, shellPath, 'case-runner', 0o111);

      const base = {
        bwrapPath,
        prlimitPath,
        setprivPath,
        shellPath,
        runnerShellPath,
        caseRunner: options.caseRunner ?? 'auto',
        systemMounts: systemMounts(options.languages.flatMap((l) => l.systemPaths)),
        tools,
        workDir: directory.path,
        identities,
        cgroups,
        seccomp,
        cpusPerJob: options.cpusPerJob,
      };

      const runtimes = new Map<Runtime, { executable: string; flags: string[]; version: string }>();
      const versions: RuntimeVersion[] = [];
      const failures: string[] = [];
      for (const command of locateRuntimes()) {
        const probe = await probeInSandbox(base, [command.executable, ...command.versionArgs]);
        if (probe.ok) {
          const version = versionFromAnswer(probe.output);
          runtimes.set(command.runtime, { executable: command.executable, flags: runtimeFlags(command.runtime, version), version });
          versions.push({ runtime: command.runtime, version });
        } else {
          failures.push(`${command.executable}: ${probe.output.trim()}`);
        }
      }
      if (runtimes.size === 0) {
        throw new Error(
          `bubblewrap could not run any interpreter in a sandbox.\n${failures.join('\n') || 'python3, node and bash were not found under /usr.'}\n` +
            'Check that unprivileged user namespaces are enabled (sysctl kernel.unprivileged_userns_clone=1, ' +
            'or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04+) and that python3, node or bash is installed under /usr. ' +
            '`sandq doctor` shows what this host allows.',
        );
      }
      for (const failure of failures) options.logger.warn({ failure }, 'an interpreter could not start in the sandbox and is not offered');
      const transpiles = await probeTranspiler(base, transpiler, runtimes.has('node'), warnings);

      const offered = await probeLanguages(base, options.languages, { runtimes, transpiles, warnings, logger: options.logger });
      const namespaces = await verifyNamespaces(base, runtimes.get('bash')?.executable);
      const isolation: IsolationReport = {
        bwrap: bwrapPath,
        namespaces,
        identity: identities
          ? `a host uid per sandbox from ${options.uidBase} to ${options.uidBase + options.uidCount - 1}`
          : `the worker's own uid ${process.getuid?.()}`,
        seccomp: describeSeccompFilter(process.arch),
        cgroups: cgroups ? cgroups.describe() : 'none: rlimit fallback (see warnings)',
        workDir: workRootTmpfs ? `on a tmpfs at ${options.workRoot}; each job's use counts against its memory limit` : 'on disk (bounded per file by RLIMIT_FSIZE only)',
        warnings,
      };
      for (const warning of warnings) options.logger.warn({ warning }, 'sandbox isolation is reduced');
      return new LocalSandboxProvider({ ...base, runtimes }, versions, isolation, options.poolLimits, directory, transpiles, offered);
    } catch (error) {
      await directory.close();
      throw error;
    }
  }

  async runtimes(): Promise<RuntimeVersion[]> {
    return this.versions;
  }

  async languages(definitions: readonly LanguageDefinition[]): Promise<LanguageVersion[]> {
    const names = new Set(definitions.map((d) => d.name));
    return this.offered.filter((l) => names.has(l.language));
  }

  warnings(): string[] {
    return this.isolation.warnings;
  }

  async create(runtime: Runtime, limits: Limits): Promise<Sandbox> {
    return await LocalSandbox.start(this.settings, runtime, limits, { forPool: false });
  }

  async prewarm(runtime: Runtime): Promise<WarmSandbox> {
    if (!this.canPrewarm) throw new Error('without cgroups a sandbox cannot take a job\'s limits after its start');
    return await LocalSandbox.start(this.settings, runtime, this.poolLimits, { forPool: true });
  }

  async close(): Promise<void> {
    await this.directory.close();
  }
}

type ProbeSettings = Omit<LocalSandboxSettings, 'runtimes'>;

/**
 * Detects the hierarchy and proves it writable by making and removing one
 * job cgroup: an existing group directory says nothing about our rights in it.
 */
async function openCgroups(root: string | undefined): Promise<{ hierarchy: CgroupHierarchy } | { reason: string }> {
  const detection = await detectCgroups({ root });
  if (!detection.available) return { reason: detection.reason };
  try {
    const probe = await detection.hierarchy.createJob(`${process.pid}-probe`, { memoryBytes: 64 * 1024 * 1024, maxProcesses: 8, cpus: 1 });
    await probe.destroy();
    return { hierarchy: detection.hierarchy };
  } catch (error) {
    return { reason: `cgroup v${detection.hierarchy.version} is not writable here: ${(error as Error).message}` };
  }
}

/** Job cgroups are named `<worker pid>-…`: one whose worker is gone is an orphan (see LocalSandbox.start). */
function isOrphanedJob(jobName: string): boolean {
  const pid = Number(jobName.split('-')[0]);
  // Ours: another provider in this same process may be using it right now.
  return pid !== process.pid && isProcessGone(pid);
}

/** Runs a command in a sandbox as a job would be run (identity, seccomp, rlimits, the runtime's tools), without a cgroup. */
async function probeInSandbox(
  settings: ProbeSettings,
  command: string[],
  tools?: ReadonlyMap<string, string>,
  timeoutMs = 10_000,
): Promise<{ ok: boolean; output: string }> {
  const workDir = await mkdtemp(path.join(settings.workDir, 'p'));
  const identity = await settings.identities?.acquire();
  try {
    if (identity) await chown(workDir, identity.uid, identity.gid);
    const bwrap = await BwrapProcess.start({
      bwrapPath: settings.bwrapPath,
      launcher: [settings.prlimitPath, '--core=0', '--'],
      options: sandboxArguments({ systemMounts: settings.systemMounts, tools, hostWorkDir: workDir, tmpSizeBytes: 1024 * 1024 }),
      command: sandboxCommand(settings.shellPath, command),
      seccomp: settings.seccomp,
      identity,
    });
    const outcome = await bwrap.run({ stdin: '', timeoutMs, maxOutputBytes: 64 * 1024 });
    // The command waits for no go: what it wrote before run() began is the prelude's (on a busy host, often all of it).
    const early = bwrap.preludeOutput();
    const [stdout, stderr] = [early.stdout + outcome.stdout, early.stderr + outcome.stderr];
    const ok = outcome.termination === 'exited' && outcome.exitCode === 0;
    // Some toolchains answer --version on stderr (java -version).
    if (ok) return { ok, output: stdout.trim() ? stdout : stderr };
    return { ok, output: outcome.termination === 'timed_out' ? `no answer within ${timeoutMs} ms` : stderr || stdout || `exit ${outcome.exitCode}` };
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  } finally {
    if (identity) await settings.identities?.release(identity);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * TypeScript is offered where node runs and its transpiler answers from inside
 * a node sandbox; otherwise a warning says why (it reaches /readyz).
 */
async function probeTranspiler(settings: ProbeSettings, transpiler: string | undefined, hasNode: boolean, warnings: string[]): Promise<boolean> {
  if (!hasNode) return false;
  if (!transpiler) {
    warnings.push('typescript is not offered: esbuild has no binary for this platform (set ESBUILD_BINARY_PATH)');
    return false;
  }
  const probe = await probeInSandbox(settings, [TRANSPILER_PATH, '--version'], settings.tools.get('node'));
  if (!probe.ok) warnings.push(`typescript is not offered: its transpiler does not run in a sandbox here (${probe.output.trim().slice(0, 200)})`);
  return probe.ok;
}

/** A JVM or a BEAM takes seconds to say its version, and several start at once. */
const LANGUAGE_PROBE_TIMEOUT_MS = 30_000;
const LANGUAGE_PROBES_AT_ONCE = 4;

/**
 * The defined languages this host runs: the launcher is here, the
 * toolchain's programs are installed under /usr (or the definition names an
 * absolute path), and its version command answers from inside a sandbox.
 * A toolchain that is installed but does not run in the sandbox is a warning
 * (it reaches /readyz); one that is not installed is only left out.
 */
async function probeLanguages(
  settings: ProbeSettings,
  definitions: readonly LanguageDefinition[],
  context: { runtimes: ReadonlyMap<Runtime, unknown>; transpiles: boolean; warnings: string[]; logger: Logger },
): Promise<LanguageVersion[]> {
  const candidates = definitions.filter((d) => {
    if (!context.runtimes.has(d.launcher) || (d.transpiler && !context.transpiles)) return false;
    return missingPrograms(d).length === 0;
  });
  const found: LanguageVersion[] = [];
  const queue = [...candidates];
  const probeNext = async (): Promise<void> => {
    for (let definition = queue.shift(); definition; definition = queue.shift()) {
      const probe = await probeInSandbox(settings, resolveCommand(definition.version), settings.tools.get(definition.launcher), LANGUAGE_PROBE_TIMEOUT_MS);
      if (probe.ok) {
        found.push({ language: definition.name, version: versionOf(definition, probe.output) });
      } else {
        context.warnings.push(`${definition.name} is not offered: its toolchain is installed but does not run in a sandbox here (${probe.output.trim().slice(0, 200)})`);
      }
    }
  };
  await Promise.all(Array.from({ length: LANGUAGE_PROBES_AT_ONCE }, probeNext));
  const skipped = definitions.filter((d) => !candidates.includes(d)).map((d) => d.name);
  if (skipped.length > 0) context.logger.info({ languages: skipped }, 'languages not offered: their toolchain is not installed under /usr (sandq languages install)');
  return found.sort((a, b) => a.language.localeCompare(b.language));
}

/** The version in a toolchain's answer: the pattern's first group, or the answer's first line. */
function versionOf(definition: LanguageDefinition, answer: string): string {
  const text = answer.trim();
  if (definition.versionPattern) {
    const match = new RegExp(definition.versionPattern, 'm').exec(text);
    if (match?.[1]) return match[1];
  }
  return text.split('\n')[0]!.trim().slice(0, 100) || 'unknown';
}

/** Compares the sandbox's namespace ids with the worker's: every one must differ. */
async function verifyNamespaces(settings: ProbeSettings, bash: string | undefined): Promise<string[]> {
  if (!bash) return [];
  const script = NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ');
  const probe = await probeInSandbox(settings, [bash, ...BASH_NO_STARTUP_FILES, '-c', script]);
  if (!probe.ok) return [];
  const inside = probe.output.trim().split('\n');
  return NAMESPACES.filter((ns, i) => inside[i] !== readlinkSync(`/proc/self/ns/${ns}`));
}
