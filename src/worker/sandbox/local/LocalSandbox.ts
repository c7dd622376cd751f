import { constants } from 'node:fs';
import { chown, lchown, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Limits } from '../../../shared/contract/limits.js';
import type { Program, ProgramFile, RunOptions, RunOutcome, Runtime, Sandbox } from '../SandboxProvider.js';
import { sandboxArguments } from './bwrapArguments.js';
import { superviseProcess } from './superviseProcess.js';

export interface LocalSandboxSettings {
  bwrapPath: string;
  systemMounts: string[];
  runtimes: ReadonlyMap<Runtime, { executable: string; flags: string[] }>;
  workRoot: string;
  /** Host identity the sandbox runs as when the worker is root; undefined = the worker's own. */
  identity: { uid: number; gid: number } | undefined;
}

/** O_NOFOLLOW | O_EXCL: a job file is always a new regular file, never written through a link. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** One bubblewrap sandbox: a private work dir on the host, one program, then gone. */
export class LocalSandbox implements Sandbox {
  private used = false;
  private destroyed = false;

  private constructor(
    private readonly settings: LocalSandboxSettings,
    private readonly limits: Limits,
    readonly hostWorkDir: string,
  ) {}

  static async create(settings: LocalSandboxSettings, limits: Limits): Promise<LocalSandbox> {
    const hostWorkDir = await mkdtemp(path.join(settings.workRoot, 'job-'));
    if (settings.identity) await chown(hostWorkDir, settings.identity.uid, settings.identity.gid);
    return new LocalSandbox(settings, limits, hostWorkDir);
  }

  async run(program: Program, options: RunOptions): Promise<RunOutcome> {
    if (this.used || this.destroyed) throw new Error('a sandbox runs exactly one program');
    this.used = true;
    const runtime = this.settings.runtimes.get(program.runtime);
    if (!runtime) throw new Error(`runtime ${program.runtime} is not available on this worker`);

    await this.writeFiles([...program.files, { path: program.entryFile, content: Buffer.from(program.source) }]);

    const { identity } = this.settings;
    const optionArgs = sandboxArguments({
      systemMounts: this.settings.systemMounts,
      hostWorkDir: this.hostWorkDir,
      env: program.env,
    });
    return await superviseProcess({
      executable: this.settings.bwrapPath,
      argv: ['--args', '3', runtime.executable, ...runtime.flags, program.entryFile, ...program.args],
      fd3: `${optionArgs.join('\0')}\0`,
      stdin: program.stdin,
      uid: identity?.uid,
      gid: identity?.gid,
      timeoutMs: this.limits.timeoutMs,
      maxOutputBytes: this.limits.maxOutputBytes,
      signal: options.signal,
      onOutput: options.onOutput,
    });
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await rm(this.hostWorkDir, { recursive: true, force: true });
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
    if (this.settings.identity) await this.handOver(this.hostWorkDir);
  }

  /** Gives every file the worker wrote to the sandbox's identity, so the program may change them. */
  private async handOver(dir: string): Promise<void> {
    const { uid, gid } = this.settings.identity!;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      await lchown(full, uid, gid);
      if (entry.isDirectory()) await this.handOver(full);
    }
  }
}
