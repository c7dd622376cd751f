/**
 * Every shell block in README.md and docs/ is run here, or named in
 * EXAMPLES with what else runs it, so no command shown to a reader can rot.
 * How blocks are run (environment, the addresses rewritten) is described in
 * docs/development.md, "Documentation".
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/freePort.js';
import type { RedisServerProcess } from '../../src/cli/RedisServerProcess.js';
import { eventually } from '../helpers/eventually.js';
import { documentationFiles, fencesOf, ROOT, type Fence } from '../helpers/markdown.js';
import { startTestRedis } from '../helpers/redis.js';
import { isolatedSandbox } from '../helpers/sandboxIsolation.js';
import { WebhookReceiver } from '../helpers/webhookReceiver.js';

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);
/** Fences that are not commands; any other language must be added here on purpose. */
const OTHER_LANGUAGES = new Set(['text', 'json', 'js', 'yaml', 'dotenv']);

/** The addresses the docs use, and what the test puts behind each. */
const DOC_API = '127.0.0.1:3000';
const DOC_REDIS = '127.0.0.1:6379';
const DOC_RECEIVER = '127.0.0.1:8080';

interface Started {
  api: string;
  receiver: WebhookReceiver;
}

type Example =
  /** Every command of the block is a line of .ci/run. */
  | { by: 'ci' }
  /** Another test runs what the block does; `evidence` must be in that file. */
  | { by: 'test'; file: string; evidence: string }
  /** Starts sandq: each line is a long-running command, ready once its output matches every pattern. */
  | { by: 'start'; ready: RegExp[][] }
  /** Runs against the sandq the last `start` block of its file started, in one shell with the blocks before it. */
  | { by: 'client'; prints: RegExp; then?: (started: Started) => Promise<void> }
  /** Runs on its own from the repository root and must succeed. */
  | { by: 'command'; prints: RegExp };

const API_READY = [/"msg":"api listening"/];
const WORKER_READY = [/"msg":"worker started"/];

/** Keyed by file and the block's exact text: a block that changes must be looked at again. */
const EXAMPLES = new Map<string, Example>([
  [key('README.md', 'npm ci'), { by: 'ci' }],
  [key('README.md', 'npm test'), { by: 'ci' }],
  [key('README.md', 'npm run sandq -- languages install --all'), { by: 'ci' }],
  [key('README.md', 'npm start'), { by: 'start', ready: [[...API_READY, ...WORKER_READY]] }],
  [
    key('README.md', `id=$(curl -s http://127.0.0.1:3000/v1/executions -H 'Content-Type: application/json' \\
  -d '{"language":"python","code":"print(input()[::-1])","stdin":"hello"}' \\
  | sed -E 's/.*"id":"([^"]+)".*/\\1/')
curl -s "http://127.0.0.1:3000/v1/executions/$id?wait=30"`),
    { by: 'client', prints: /"status":"succeeded".*"stdout":"olleh\\n"/ },
  ],
  [key('README.md', 'curl -s "http://127.0.0.1:3000/v1/executions/$id"'), { by: 'client', prints: /"status":"succeeded"/ }],
  [key('README.md', 'curl -sN "http://127.0.0.1:3000/v1/executions/$id/events"'), { by: 'client', prints: /event: status[\s\S]*event: done\ndata: \{"id":"ex_/ }],
  [
    key('README.md', 'WEBHOOK_SECRET=change-me-to-a-long-random-secret WEBHOOK_ALLOW_PRIVATE=true npm start'),
    { by: 'start', ready: [[...API_READY, ...WORKER_READY]] },
  ],
  [
    key('README.md', `curl -s http://127.0.0.1:3000/v1/executions -H 'Content-Type: application/json' \\
  -d '{"language":"bash","code":"echo hi","webhook":{"url":"http://127.0.0.1:8080/hooks/sandq"}}'`),
    {
      by: 'client',
      prints: /"status":"queued"/,
      then: async ({ receiver }) => {
        const delivery = await eventually(async () => receiver.received[0], 30_000, 'the webhook delivery');
        expect(delivery.headers['sandq-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(JSON.parse(delivery.body)).toMatchObject({ status: 'succeeded', result: { stdout: 'hi\n' } });
      },
    },
  ],
  [
    key('docs/operations.md', `REDIS_URL=redis://127.0.0.1:6379 npm run api      # HTTP only
REDIS_URL=redis://127.0.0.1:6379 npm run worker   # executions only; start as many as you like`),
    { by: 'start', ready: [API_READY, WORKER_READY] },
  ],
  [key('docs/operations.md', 'npm run sandq -- languages list'), { by: 'command', prints: /^LANGUAGE\s+ALIASES\s+COMPILED\s+INSTALLED\s+APT PACKAGES\n[\s\S]*^python\s+py,python3\s+no\s+yes\s+python3$/m }],
  [key('docs/e2b.md', 'E2B_API_KEY=e2b_… SANDBOX_PROVIDER=e2b npm start'), { by: 'test', file: 'test/e2e/e2b.pool.test.ts', evidence: "SANDBOX_PROVIDER: 'e2b'" }],
  [
    key('docs/development.md', `npm ci              # the locked dependencies, exactly
npm run typecheck   # tsc, strict
npm run lint        # eslint, including the api/worker import boundary
npm run build       # compile to dist/ (used by the container image)
npm run doctor      # which sandbox isolation this host provides
npm test            # vitest: real redis-server per test file, real bubblewrap sandboxes, and test/e2e/faults/`),
    { by: 'ci' },
  ],
  [key('docs/development.md', 'npm run docs'), { by: 'command', prints: /docs are up to date|wrote docs\// }],
]);

function key(file: string, text: string): string {
  return `${file}\n${text}`;
}

const fences = documentationFiles().flatMap((file) => fencesOf(file));
const shellBlocks = fences.filter((f) => SHELL_LANGUAGES.has(f.language));

function exampleOf(block: Fence): Example {
  const example = EXAMPLES.get(key(block.file, block.text));
  if (!example) throw new Error(`${block.file}:${block.line}: a shell block test/e2e/docsExamples.test.ts does not know; run it there or name what runs it:\n${block.text}`);
  return example;
}

/** The commands of a block: continuation lines joined, comments and blank lines dropped. */
function commandsOf(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

describe('the fences of README.md and docs/', () => {
  it('name their language, one this test knows', () => {
    for (const fence of fences) {
      expect(SHELL_LANGUAGES.has(fence.language) || OTHER_LANGUAGES.has(fence.language), `${fence.file}:${fence.line} \`\`\`${fence.language}`).toBe(true);
    }
  });

  it('has a way to check every shell block, and no entry for a block the docs no longer show', () => {
    for (const block of shellBlocks) exampleOf(block);
    const shown = new Set(shellBlocks.map((b) => key(b.file, b.text)));
    const stale = [...EXAMPLES.keys()].filter((k) => !shown.has(k));
    expect(stale, 'entries of EXAMPLES whose block is gone').toEqual([]);
  });

  const ciLines = readFileSync(path.join(ROOT, '.ci/run'), 'utf8').split('\n').map((l) => l.trim());
  it.each(shellBlocks.filter((b) => exampleOf(b).by === 'ci').map((b) => [`${b.file}:${b.line}`, b]))('%s: .ci/run runs every command of it', (_where, block) => {
    for (const command of commandsOf(block.text)) {
      expect(ciLines.some((line) => line === command || line.startsWith(`${command} `)), `.ci/run runs ${command}`).toBe(true);
    }
  });

  it.each(shellBlocks.flatMap((b) => {
    const example = exampleOf(b);
    return example.by === 'test' ? [[`${b.file}:${b.line}`, example] as const] : [];
  }))('%s: the test that covers it exists and does it', (_where, example) => {
    const file = path.join(ROOT, example.file);
    expect(existsSync(file), example.file).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(example.evidence);
  });

  it.each(shellBlocks.flatMap((b) => {
    const example = exampleOf(b);
    return example.by === 'command' ? [[`${b.file}:${b.line}`, b, example] as const] : [];
  }))('%s runs', async (_where, block, example) => {
    const { stdout } = await promisify(execFile)('bash', ['-eo', 'pipefail', '-c', block.text], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(example.prints);
  });
});

/** A `start` block and the `client` blocks after it in the same file. */
interface Session {
  start: Fence & { example: Extract<Example, { by: 'start' }> };
  clients: (Fence & { example: Extract<Example, { by: 'client' }> })[];
}

function sessions(): Session[] {
  const found: Session[] = [];
  let current: Session | undefined;
  for (const block of shellBlocks) {
    const example = exampleOf(block);
    if (example.by === 'start') {
      current = { start: { ...block, example }, clients: [] };
      found.push(current);
    } else if (example.by === 'client') {
      if (!current || current.start.file !== block.file) throw new Error(`${block.file}:${block.line}: a client block with no start block before it`);
      current.clients.push({ ...block, example });
    }
  }
  return found;
}

const running: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(running.map(stopGroup));
  for (const cleanup of cleanups) await cleanup();
});

/** Starts a block's command in a process group of its own, so that stopping it reaches npm's children too. */
function spawnCommand(command: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn('bash', ['-c', command], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

/** Live (not zombie) processes of a process group, with their command lines, from /proc. */
function liveMembersOf(pgid: number): { pid: number; cmdline: string }[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((pid) => {
    try {
      // After the command's parenthesised name: state, ppid, pgrp.
      const [state, , pgrp] = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      if (Number(pgrp) !== pgid || state === 'Z') return [];
      return [{ pid: Number(pid), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') }];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/**
 * Stops what a block started as an orchestrator would: one SIGTERM to each
 * sandq process (not to the whole group, whose sandboxes and wrappers would
 * pass the signal on a second time, which sandq takes as "exit now"), then
 * waits for everything it started to end; SIGKILL to the group if it lingers.
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid!;
  const sandq = liveMembersOf(pgid).filter((p) => p.cmdline.includes('src/cli/sandq.ts') && !p.cmdline.includes('.bin/tsx'));
  for (const { pid } of sandq) process.kill(pid, 'SIGTERM');
  try {
    await eventually(async () => liveMembersOf(pgid).length === 0, 30_000, `process group ${pgid} ending`);
  } catch (error) {
    process.kill(-pgid, 'SIGKILL');
    throw error;
  }
}

describe.each(sessions().map((s) => [`${s.start.file}:${s.start.line}`, s] as const))('the session that %s starts', (_where, session) => {
  it('starts as written, and every block after it prints what the docs say', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    let redis: RedisServerProcess | undefined;
    if (session.start.text.includes(DOC_REDIS)) {
      redis = await startTestRedis();
      cleanups.push(() => redis!.destroy());
    }
    const rewrite = (text: string) =>
      text
        .replaceAll(DOC_API, `127.0.0.1:${port}`)
        .replaceAll(DOC_RECEIVER, `127.0.0.1:${receiver.port}`)
        .replaceAll(DOC_REDIS, redis ? new URL(redis.url).host : DOC_REDIS);

    // Only what a fresh shell has, a free port, and sandboxes of this test's own.
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME!, PORT: String(port), ...isolatedSandbox(100) };
    const commands = session.start.text.split('\n').filter((line) => line.trim());
    expect(commands).toHaveLength(session.start.example.ready.length);
    const started = commands.map((command) => spawnCommand(rewrite(command), env));
    await Promise.all(
      started.map(({ child, output }, i) =>
        eventually(
          async () => {
            if (child.exitCode !== null) throw new Error(`\`${commands[i]}\` exited ${child.exitCode}:\n${output().slice(-3000)}`);
            return session.start.example.ready[i]!.every((pattern) => pattern.test(output()));
          },
          60_000,
          `\`${commands[i]}\` being ready`,
        ),
      ),
    );

    // What every session must do, shown or not: run a job end to end.
    const submitted = await fetch(`http://127.0.0.1:${port}/v1/executions?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'bash', code: 'echo up' }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const final = await (await fetch(`http://127.0.0.1:${port}/v1/executions/${id}?wait=30`)).json();
    expect(final).toMatchObject({ status: 'succeeded', result: { stdout: 'up\n' } });

    if (session.clients.length === 0) return;
    // The client blocks in one shell, in order, as in a reader's terminal; markers split the output.
    const marker = (i: number) => `::docs-example-${i}::`;
    const script = session.clients.map((c, i) => `echo '${marker(i)}'\n${rewrite(c.text)}\necho`).join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-eo', 'pipefail', '-c', script], { cwd: ROOT, timeout: 90_000 });
    for (const [i, client] of session.clients.entries()) {
      const printed = stdout.split(marker(i))[1]!.split(marker(i + 1))[0]!;
      expect(printed, `${client.file}:${client.line}`).toMatch(client.example.prints);
      await client.example.then?.({ api: `http://127.0.0.1:${port}`, receiver });
    }
    // Stopped here rather than after all sessions: one sandq at a time on two cores.
    await Promise.all(started.map(({ child }) => stopGroup(child)));
  });
});
