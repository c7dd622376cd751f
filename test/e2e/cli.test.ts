import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SETTING_GROUPS } from '../../src/shared/config.js';
import { LanguageRegistry } from '../../src/shared/languages/LanguageRegistry.js';
import { eventually } from '../helpers/eventually.js';
import { processesInGroup, processesInUidRange, processGone } from '../helpers/processes.js';
import { postJson, runExecution } from '../helpers/service.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Started {
  exit: Promise<number | null>;
  output: () => string;
  child: ReturnType<typeof spawn>;
}

/** Runs the CLI the way `npm start` does (tsx over the TypeScript entry point). */
function runCli(args: string[], env: Record<string, string | undefined>, { detached = false, viaNpm = false } = {}): Started {
  // viaNpm: `npm start`, which runs `tsx src/cli/sandq.ts start all` (npm, a shell and tsx above the service).
  const [file, argv] = viaNpm ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'src/cli/sandq.ts', ...args]];
  const child = spawn(file, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...isolatedSandbox(100), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a shell gives a foreground command, so that the test can signal the group.
    detached,
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function waitForOutput(started: Started, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${pattern} in output:\n${started.output()}`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('sandq --help and unknown options', () => {
  it('prints the usage for --help, -h and help, and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const started = runCli(args, {});
      expect(await started.exit).toBe(0);
      expect(started.output()).toMatch(/^Usage: sandq <command>/);
      for (const command of ['start', 'doctor', 'config', 'languages']) expect(started.output()).toContain(`  ${command}`);
    }
  });

  it.each(['start', 'doctor', 'config', 'languages', 'languages list', 'languages install', 'help'])('prints the help of `%s --help` and exits 0 without running it', async (command) => {
    // An invalid setting shows that the command did not run (it would exit 2).
    const started = runCli([...command.split(' '), '--help'], { PORT: 'not-a-port' });
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(new RegExp(`^Usage: sandq ${command}`));
  });

  it('names an unknown option and says where the help is', async () => {
    const started = runCli(['start', '--verbose'], {});
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain("Unknown option '--verbose'");
    expect(started.output()).toContain('See `sandq start --help`.');
  });

  it('names the subcommand whose help applies to an unknown option', async () => {
    const started = runCli(['languages', 'list', '--all'], {});
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain("Unknown option '--all'. See `sandq languages list --help`.");
  });

  it('shows a subcommand\'s help for `help languages install`', async () => {
    const started = runCli(['help', 'languages', 'install'], {});
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(/^Usage: sandq languages install/);
  });

  it('says where the help is for an unknown command', async () => {
    const started = runCli(['stat'], {});
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('Unknown command "stat". See `sandq --help`.');
  });
});

describe('sandq config', () => {
  it('prints every setting with its value and source, secrets masked', async () => {
    const secrets = { WEBHOOK_SECRET: 'webhook-secret-0123456789', ADMIN_PASSWORD: 'admin-password-0123', E2B_API_KEY: 'e2b_key_0123456789' };
    const apiKey = 'alice-key-0123456789abcdef';
    const started = runCli(['config'], { ...secrets, ADMIN_USER: 'ops', API_KEYS: `alice:${apiKey},bob:bob-key-0123456789abcdef`, PORT: '4123', REDIS_URL: undefined });
    expect(await started.exit).toBe(0);
    const out = started.output();
    const lines = out.trim().split('\n').filter((line) => line !== '');
    // Group by group, as docs/configuration.md has them: a heading, then each setting.
    expect(lines.map((line) => line.split(' = ')[0])).toEqual(SETTING_GROUPS.flatMap((group) => [`# ${group.title}`, ...Object.keys(group.settings)]));
    expect(out).toContain('PORT = 4123 (environment)\n');
    expect(out).toContain('HOST = 127.0.0.1 (default)\n');
    expect(out).toContain('REDIS_URL = (not set) (default)\n');
    expect(out).toContain('ADMIN_USER = ops (environment)\n');
    expect(out).toMatch(/API_KEYS = alice:\*+,bob:\*+ \(environment\)\n/);
    for (const name of Object.keys(secrets)) expect(out).toMatch(new RegExp(`${name} = \\*+ \\(environment\\)\n`));
    for (const secret of [...Object.values(secrets), apiKey, 'bob-key']) expect(out).not.toContain(secret);
  });

  it('exits non-zero naming the bad variable when the configuration is invalid', async () => {
    const started = runCli(['config'], { PORT: 'not-a-port' });
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('Invalid configuration');
    expect(started.output()).toContain('PORT:');
  });
});

describe('sandq languages', () => {
  // Needs the toolchains of the built-in languages, as test/e2e/languages.test.ts does: .ci/run installs them first.
  const ABSENT_PACKAGE = 'sandq-test-absent-package';
  const languagesFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandq-languages-')), 'languages.json');
  const fake = { displayName: 'Not installed', sourceFile: 'main.fake', version: ['sandq-no-such-compiler', '--version'], run: ['sandq-no-such-compiler', 'main.fake'] };
  writeFileSync(
    languagesFile,
    JSON.stringify({
      languages: [
        { ...fake, name: 'fakelang', aliases: ['fk'], packages: { apt: [ABSENT_PACKAGE] } },
        // Its one package is installed, but it does not bring the program.
        { ...fake, name: 'fakebash', packages: { apt: ['bash'] } },
      ],
    }),
  );
  const withFile = { LANGUAGES_FILE: languagesFile };
  const defined = LanguageRegistry.load({ file: languagesFile }).names;

  it('lists every defined language, and marks one whose program is missing as not installed', async () => {
    const started = runCli(['languages', 'list'], withFile);
    expect(await started.exit).toBe(0);
    const [header, ...rows] = started.output().trim().split('\n');
    expect(header).toMatch(/^LANGUAGE\s+ALIASES\s+COMPILED\s+INSTALLED\s+APT PACKAGES$/);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(defined);
    expect(rows.find((row) => row.startsWith('fakelang '))).toMatch(/^fakelang\s+fk\s+no\s+no \(sandq-no-such-compiler missing\)\s+sandq-test-absent-package$/);
    expect(rows.find((row) => row.startsWith('c '))).toMatch(/^c\s+gcc\s+yes\s+yes\s+gcc libc6-dev$/);
    expect(rows.find((row) => row.startsWith('python '))).toMatch(/^python\s+py,python3\s+no\s+yes\s+python3$/);
  });

  it('lists the same as JSON, narrowed to ENABLED_LANGUAGES', async () => {
    const started = runCli(['languages', 'list', '--json'], { ...withFile, ENABLED_LANGUAGES: 'py,fk' });
    expect(await started.exit).toBe(0);
    expect(JSON.parse(started.output())).toEqual([
      { name: 'fakelang', displayName: 'Not installed', aliases: ['fk'], compiled: false, installed: false, missing: ['sandq-no-such-compiler'], packages: { apt: [ABSENT_PACKAGE] } },
      { name: 'python', displayName: 'Python 3', aliases: ['py', 'python3'], compiled: false, installed: true, missing: [], packages: { apt: ['python3'] } },
    ]);
  });

  it('prints, with --dry-run, the apt-get commands for the packages not yet installed, and runs nothing', async () => {
    const started = runCli(['languages', 'install', 'c', 'python', 'fk', '--dry-run'], withFile);
    expect(await started.exit).toBe(0);
    const out = started.output();
    expect(out).toContain('Languages: c, python, fakelang\n');
    expect(out).toContain(`Packages: gcc libc6-dev python3 ${ABSENT_PACKAGE}\n`);
    expect(out).toContain('Already installed: gcc libc6-dev python3\n');
    expect(out).toMatch(new RegExp(`Would run:\n  (sudo )?env DEBIAN_FRONTEND=noninteractive apt-get update\n  (sudo )?env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${ABSENT_PACKAGE}\n$`));
  });

  it('installs nothing for a language whose packages are all installed, and exits 0', async () => {
    const started = runCli(['languages', 'install', 'bash'], {});
    expect(await started.exit).toBe(0);
    expect(started.output()).toContain('Nothing to install: every package is already installed.');
    expect(started.output()).not.toContain('apt-get');
  });

  it('exits 1 when a language\'s packages are installed but its program is still missing', async () => {
    const started = runCli(['languages', 'install', 'fakebash'], withFile);
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Nothing to install');
    expect(started.output()).toContain('fakebash: sandq-no-such-compiler not found under /usr even with bash installed');
  });

  it('exits 2 naming an unknown language and the defined ones', async () => {
    const started = runCli(['languages', 'install', 'c', 'cobol', '--dry-run'], {});
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain(`Unknown language "cobol". Defined: ${LanguageRegistry.load({}).names.join(', ')}`);
    expect(started.output()).not.toContain('Would run');
  });

  it('exits 2 when given neither languages nor --all, or both', async () => {
    for (const args of [['install'], ['install', 'c', '--all']]) {
      const started = runCli(['languages', ...args], {});
      expect(await started.exit).toBe(2);
      expect(started.output()).toContain('name the languages to install, or give --all');
    }
  });

  it('exits 2 naming an unknown subcommand', async () => {
    const started = runCli(['languages', 'add', 'c'], {});
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('Unknown languages command "add". See `sandq languages --help`.');
  });

  it('prints the packages and the command, and exits 1, on a host without apt-get', async () => {
    const started = runCli(['languages', 'install', 'c', '--dry-run'], { PATH: mkdtempSync(path.join(os.tmpdir(), 'sandq-path-')) });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Packages: gcc libc6-dev\n');
    expect(started.output()).toContain('this host has no apt-get');
    expect(started.output()).toMatch(/apt-get update && .*apt-get install -y --no-install-recommends gcc libc6-dev\n/);
  });
});

describe('npm run bench -- --help', () => {
  it('documents every option and exits 0 without running the bench', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(output).toMatch(/^Usage: npm run bench/);
    for (const option of ['--quick', '--json <file>', '--help']) expect(output).toContain(option);
  });
});

describe('sandq doctor', () => {
  it('prints the isolation this host provides and exits 0', async () => {
    const started = runCli(['doctor'], {});
    expect(await started.exit).toBe(0);
    const out = started.output();
    expect(out).toMatch(/namespaces\s+user, pid, net, ipc, uts, cgroup, mnt: all unshared/);
    expect(out).toMatch(/identity\s+a host uid per sandbox/);
    expect(out).toMatch(/seccomp\s+allowlist of \d+ system calls \((x64|arm64)\), .*; everything else is refused\n/);
    expect(out).toMatch(/cgroups\s+cgroup v[12] \(memory, pids/);
    expect(out).toMatch(/languages\s+(\d+) of \1 offered: .*\bc \d+\.\d+.*\bpython 3\.\d+/);
    expect(out).toContain('Result: the local provider isolates jobs on this host.');
  });

  it('names the defined languages this host does not offer', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandq-languages-')), 'languages.json');
    const missing = { name: 'fakelang', displayName: 'Not installed', sourceFile: 'main.fake', version: ['sandq-no-such-compiler', '--version'], run: ['sandq-no-such-compiler', 'main.fake'] };
    writeFileSync(file, JSON.stringify({ languages: [missing] }));
    const started = runCli(['doctor'], { LANGUAGES_FILE: file, ENABLED_LANGUAGES: 'python,fakelang' });
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(/languages\s+1 of 2 offered: python 3\.\S+\n\s+not offered here: fakelang \(`sandq languages list` says what is missing\)/);
  });

  it('warns about the rlimit fallback when no cgroup hierarchy is writable', async () => {
    const started = runCli(['doctor'], { SANDBOX_CGROUP_ROOT: mkdtempSync(path.join(os.tmpdir(), 'sandq-none-')) });
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(/cgroups\s+none: rlimit fallback/);
    expect(started.output()).toMatch(/Warnings:\n\s+- no writable cgroup hierarchy/);
  });

  it('exits non-zero when jobs cannot be isolated', async () => {
    const started = runCli(['doctor'], { BWRAP_PATH: '/nonexistent/bwrap' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Result: jobs cannot be isolated on this host.');
    expect(started.output()).toContain('apt-get install bubblewrap');
  });
});

describe('sandq start (npm start)', () => {
  it('without REDIS_URL starts a private redis-server, runs a job, and removes it all on SIGTERM', async () => {
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined });
    const [, redisUrl, dataDir] = await waitForOutput(started, /"redisUrl":"(redis:\/\/[^"]+)","dataDir":"([^"]+)"/);
    const [, baseUrl] = await waitForOutput(started, /"url":"(http:\/\/[^"]+)","msg":"api listening"/);
    const redisPort = Number(new URL(redisUrl!).port);

    const ex = await runExecution(baseUrl!, { language: 'python', code: 'print("hello from the sandbox")' });
    expect(ex.result?.stdout).toBe('hello from the sandbox\n');
    expect(started.output()).toContain(`"executionId":"${ex.id}"`);

    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
    expect(await portOpen(redisPort)).toBe(false);
    expect(existsSync(dataDir!)).toBe(false);
  });

  it('says how to install redis-server when it is missing', async () => {
    const emptyPath = mkdtempSync(path.join(os.tmpdir(), 'sandq-path-'));
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, PATH: emptyPath });
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/redis-server was not found.*apt-get install redis-server/s);
  });

  it('says that the file REDIS_SERVER_PATH names does not exist, rather than that redis-server is not on PATH', async () => {
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, REDIS_SERVER_PATH: '/nonexistent/redis-server' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('REDIS_SERVER_PATH names /nonexistent/redis-server, which does not exist.');
    expect(started.output()).toContain('unset it to look redis-server up on PATH');
    expect(started.output()).not.toContain('not found on PATH');
  });

  it('says that the file REDIS_SERVER_PATH names is not executable', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandq-redis-path-')), 'redis-server');
    writeFileSync(file, '', { mode: 0o644 });
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, REDIS_SERVER_PATH: file });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain(`REDIS_SERVER_PATH names ${file}, which is not executable.`);
    expect(started.output()).not.toContain('not found on PATH');
  });

  it('says that the file BWRAP_PATH names does not exist, rather than that bwrap is not on PATH', async () => {
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, BWRAP_PATH: '/nonexistent/bwrap' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('BWRAP_PATH names /nonexistent/bwrap, which does not exist.');
    expect(started.output()).toContain('unset it to look bwrap up on PATH');
    expect(started.output()).not.toContain('not found');
  });

  it('says how to install bubblewrap when it is missing', async () => {
    // redis-server stays reachable; only bwrap is absent.
    const binDir = mkdtempSync(path.join(os.tmpdir(), 'sandq-path-'));
    symlinkSync(execPathOf('redis-server'), path.join(binDir, 'redis-server'));
    const started = runCli(['start'], { PORT: '0', REDIS_URL: undefined, PATH: binDir });
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/bwrap was not found.*apt-get install bubblewrap/s);
  });

  it('stops with a message naming a bad variable', async () => {
    const started = runCli(['start'], { PORT: 'not-a-port' });
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('PORT:');
    expect(started.output()).toContain('"not-a-port"');
  });

  it('needs REDIS_URL to run a single role', async () => {
    const started = runCli(['start', 'worker'], { REDIS_URL: undefined });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('REDIS_URL is not set');
  });
});

function execPathOf(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not on PATH`);
}

describe('stopping `sandq start` (npm start) as a terminal or a supervisor does', () => {
  const GRACE_MS = 3000;
  /** What the shutdown may take beyond the grace: the hand-back, closes, Redis's own stop. */
  const AFTER_GRACE_MS = 8000;

  interface RunningAll {
    started: Started;
    pid: number;
    redisPid: number;
    sandboxes: () => ReturnType<typeof processesInUidRange>;
  }

  /** `sandq start` with its private Redis, as its own process group's leader, with a job running in a sandbox. */
  async function startWithRunningJob({ viaNpm = false, graceMs = GRACE_MS } = {}): Promise<RunningAll> {
    const isolation = isolatedSandbox(100);
    const env = { PORT: '0', REDIS_URL: undefined, SHUTDOWN_GRACE_MS: String(graceMs), TIMEOUT_MS_DEFAULT: '60000', POOL_SIZE: '1', POOL_RUNTIMES: 'python', ...isolation };
    const started = runCli(['start'], env, { detached: true, viaNpm });
    // Nothing may stay behind should the test fail midway.
    onTestFinished(() => killGroup(started.child.pid!));
    const [, redisPid] = await waitForOutput(started, /"redisPid":(\d+)/);
    const [, baseUrl] = await waitForOutput(started, /"url":"(http:\/\/[^"]+)","msg":"api listening"/);
    const submitted = await postJson(baseUrl!, '/v1/executions', { language: 'python', code: 'import time\ntime.sleep(120)' });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    await eventually(async () => ((await (await fetch(`${baseUrl}/v1/executions/${id}`)).json()) as { status: string }).status === 'running', 20_000, 'the job running');
    const sandboxes = () => processesInUidRange(Number(isolation.SANDBOX_UID_BASE), Number(isolation.SANDBOX_UID_COUNT));
    // Something to see gone: the running job's sandbox (and the warm one). A job is running before its sandbox may be.
    await eventually(async () => sandboxes().some((p) => p.comm === 'python3'), 20_000, 'a sandboxed python3');
    expect(processGone(Number(redisPid))).toBe(false);
    return { started, pid: started.child.pid!, redisPid: Number(redisPid), sandboxes };
  }

  /** Polls until the service (every process of its group), its Redis and every sandbox process are gone. */
  async function expectAllGone(running: RunningAll, withinMs: number): Promise<void> {
    const left = () => ({ group: processesInGroup(running.pid), redis: !processGone(running.redisPid), sandboxes: running.sandboxes() });
    await eventually(
      async () => {
        const { group, redis, sandboxes } = left();
        return group.length === 0 && !redis && sandboxes.length === 0;
      },
      withinMs,
      'the service, its redis-server and its sandboxes ending',
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; left: ${JSON.stringify(left())}\n${running.started.output().slice(-3000)}`);
    });
  }

  for (const [signal, viaNpm] of [['SIGINT', false], ['SIGTERM', false], ['SIGINT', true]] as const) {
    it(`a ${signal} to the whole process group${viaNpm ? ' of `npm start`' : ''} ends the service, its private Redis and every sandbox within the grace`, async () => {
      const running = await startWithRunningJob({ viaNpm });
      process.kill(-running.pid, signal);
      await expectAllGone(running, GRACE_MS + AFTER_GRACE_MS);
      // npm reports its child's end in its own way; sandq's own exit is 0.
      if (!viaNpm) expect(await running.started.exit).toBe(0);
      // The signal, reaching the service more than once (terminal, npm, tsx), is one request to stop, not two.
      expect(running.started.output()).not.toContain('second signal');
      // The job lived through the signal until the grace was over (its sandbox is not in the group).
      expect(running.started.output()).toContain('shutdown grace is over: handing running executions back to the queue');
      // Redis outlived the roles: the job went back to the queue, nothing lost its connection, Redis stopped last.
      const output = running.started.output();
      expect(output).toContain('execution handed back to the queue: the worker is shutting down');
      expect(output).not.toContain('ECONNREFUSED');
      expect(output.indexOf('"msg":"stopped the private redis-server"')).toBeGreaterThan(output.indexOf('"msg":"worker stopped"'));
      expect(output.indexOf('"msg":"worker stopped"')).toBeGreaterThan(output.indexOf('"msg":"api stopped"'));
    }, 60_000);
  }

  it('takes a SIGINT repeated at once (as npm and tsx relay a Ctrl-C) for the same stop, not a forced exit', async () => {
    const running = await startWithRunningJob();
    process.kill(-running.pid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(running.pid, 'SIGINT');
    await expectAllGone(running, GRACE_MS + AFTER_GRACE_MS);
    expect(await running.started.exit).toBe(0);
    expect(running.started.output()).not.toContain('second signal');
    expect(running.started.output()).toContain('execution handed back to the queue: the worker is shutting down');
  }, 60_000);

  it('a second SIGINT later forces the exit, and still leaves no Redis or sandbox behind', async () => {
    // A grace the shutdown cannot reach before the second signal.
    const running = await startWithRunningJob({ graceMs: 30_000 });
    process.kill(-running.pid, 'SIGINT');
    await waitForOutput(running.started, /"msg":"api stopped"/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    process.kill(-running.pid, 'SIGINT');
    expect(await running.started.exit).toBe(130);
    await expectAllGone(running, AFTER_GRACE_MS);
  }, 60_000);

  it('a shutdown that loses its Redis still ends within the grace', async () => {
    const running = await startWithRunningJob();
    process.kill(running.redisPid, 'SIGKILL');
    await eventually(async () => processGone(running.redisPid), 5000, 'redis-server dying');
    process.kill(-running.pid, 'SIGTERM');
    await expectAllGone(running, GRACE_MS + AFTER_GRACE_MS);
    expect(await running.started.exit).toBe(0);
  }, 60_000);

  it('a service killed outright (SIGKILL) leaves neither its private Redis nor sandboxes running', async () => {
    const running = await startWithRunningJob();
    // Only the node process: its redis-server is in a group of its own.
    process.kill(running.pid, 'SIGKILL');
    await expectAllGone(running, AFTER_GRACE_MS);
  }, 60_000);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
