import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Limits } from '../../../shared/contract/limits.js';
import { MissingPrerequisiteError } from '../../../shared/errors/MissingPrerequisiteError.js';
import { findExecutable } from '../../../shared/findExecutable.js';
import type { Logger } from '../../../shared/logger.js';
import type { Runtime, RuntimeVersion, Sandbox, SandboxProvider } from '../SandboxProvider.js';
import { sandboxArguments, systemMounts } from './bwrapArguments.js';
import { LocalSandbox, type LocalSandboxSettings } from './LocalSandbox.js';
import { locateRuntimes, runtimeFlags } from './runtimes.js';
import { superviseProcess } from './superviseProcess.js';

export const BWRAP_INSTALL_HINT =
  'Install bubblewrap with `sudo apt-get install bubblewrap` (Debian/Ubuntu) or `sudo dnf install bubblewrap` (Fedora), or set BWRAP_PATH.';

export interface LocalProviderOptions {
  bwrapPath?: string;
  workRoot: string;
  /** Identity sandboxes run as when the worker runs as root. */
  uid: number;
  gid: number;
  logger: Logger;
}

/** Sandboxes built from bubblewrap namespaces on this host. */
export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local';

  private constructor(
    private readonly settings: LocalSandboxSettings,
    private readonly versions: RuntimeVersion[],
  ) {}

  /**
   * Finds bwrap and the interpreters, then proves the sandbox works by asking
   * each interpreter its version from inside one; fails with what to do next.
   */
  static async start(options: LocalProviderOptions): Promise<LocalSandboxProvider> {
    const bwrapPath = findExecutable(options.bwrapPath ?? 'bwrap');
    if (!bwrapPath) throw new MissingPrerequisiteError('bwrap', BWRAP_INSTALL_HINT);

    // 0711: sandbox identities may reach their own job dir but not list the others.
    await mkdir(options.workRoot, { recursive: true, mode: 0o711 });
    await chmod(options.workRoot, 0o711);

    const isRoot = process.getuid?.() === 0;
    const base = {
      bwrapPath,
      systemMounts: systemMounts(),
      workRoot: options.workRoot,
      identity: isRoot ? { uid: options.uid, gid: options.gid } : undefined,
    };

    const runtimes = new Map<Runtime, { executable: string; flags: string[] }>();
    const versions: RuntimeVersion[] = [];
    const failures: string[] = [];
    for (const command of locateRuntimes()) {
      const probe = await probeInSandbox(base, command.executable, command.versionArgs);
      if (probe.ok) {
        const version = probe.output.replace(/^Python /, '').trim();
        runtimes.set(command.runtime, { executable: command.executable, flags: runtimeFlags(command.runtime, version) });
        versions.push({ runtime: command.runtime, version });
      } else {
        failures.push(`${command.executable}: ${probe.output.trim()}`);
      }
    }
    if (runtimes.size === 0) {
      throw new Error(
        `bubblewrap could not run any interpreter in a sandbox.\n${failures.join('\n') || 'python3, node and bash were not found under /usr.'}\n` +
          'Check that unprivileged user namespaces are enabled (sysctl kernel.unprivileged_userns_clone=1, ' +
          'or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04+) and that python3, node or bash is installed under /usr.',
      );
    }
    for (const failure of failures) options.logger.warn({ failure }, 'an interpreter could not start in the sandbox and is not offered');
    return new LocalSandboxProvider({ ...base, runtimes }, versions);
  }

  async runtimes(): Promise<RuntimeVersion[]> {
    return this.versions;
  }

  async create(limits: Limits): Promise<Sandbox> {
    return await LocalSandbox.create(this.settings, limits);
  }

  async close(): Promise<void> {}
}

async function probeInSandbox(
  settings: Omit<LocalSandboxSettings, 'runtimes'>,
  executable: string,
  args: string[],
): Promise<{ ok: boolean; output: string }> {
  const workDir = await mkdtemp(path.join(settings.workRoot, 'probe-'));
  try {
    if (settings.identity) await chown(workDir, settings.identity.uid, settings.identity.gid);
    const outcome = await superviseProcess({
      executable: settings.bwrapPath,
      argv: ['--args', '3', executable, ...args],
      fd3: `${sandboxArguments({ systemMounts: settings.systemMounts, hostWorkDir: workDir, env: {} }).join('\0')}\0`,
      stdin: '',
      uid: settings.identity?.uid,
      gid: settings.identity?.gid,
      timeoutMs: 10_000,
      maxOutputBytes: 64 * 1024,
    });
    const ok = outcome.termination === 'exited' && outcome.exitCode === 0;
    return { ok, output: ok ? outcome.stdout : outcome.stderr || outcome.stdout || `exit ${outcome.exitCode}` };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
