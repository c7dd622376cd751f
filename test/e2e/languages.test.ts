import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LanguageRegistry } from '../../src/shared/languages/LanguageRegistry.js';
import { runExecution, startTestService, type ExecutionJson, type TestService } from '../helpers/service.js';

/**
 * Every built-in language, through the API on real toolchains: its own test
 * programs (test/fixtures/languages/<name>/) and Piston's (test/fixtures/piston/).
 * A toolchain missing on this machine is a failure, never a skip: `.ci/run`
 * installs them all with `sandq languages install`.
 */
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const registry = LanguageRegistry.load({});
const languages = registry.definitions.map((d) => d.name).sort();

function fixture(language: string, kind: string): string | undefined {
  const dir = path.join(FIXTURES, 'languages', language);
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`${kind}.`)) : undefined;
  return file && readFileSync(path.join(dir, file), 'utf8');
}

function required(language: string, kind: string): string {
  const code = fixture(language, kind);
  if (code === undefined) throw new Error(`test/fixtures/languages/${language} has no ${kind} program`);
  return code;
}

/** A readable account of an execution that did not end as expected. */
function account(ex: ExecutionJson): string {
  return JSON.stringify({ status: ex.status, error: ex.error, result: ex.result && { ...ex.result, artifacts: undefined } }, null, 1);
}

let svc: TestService;

beforeAll(async () => {
  // Compilers (kotlinc, crystal) take seconds each: enough jobs at once to finish in reasonable time on two cores.
  svc = await startTestService({ WORKER_CONCURRENCY: '2', POOL_SIZE: '2', COMPILE_TIMEOUT_MS_MAX: '120000' });
}, 120_000);
afterAll(async () => {
  await svc?.stop();
});

describe('the built-in languages', () => {
  it('are at least 25, each offered by this worker with a version', async () => {
    expect(languages.length).toBeGreaterThanOrEqual(25);
    const body = (await (await fetch(`${svc.baseUrl}/v1/languages`)).json()) as { items: { name: string; versions: string[]; compiled: boolean }[] };
    expect(body.items.map((i) => i.name)).toEqual(languages);
    for (const item of body.items) expect(item.versions[0], item.name).toMatch(/\d/);
  });

  it('each have their test programs, and Piston\'s where Piston ships the language', () => {
    for (const language of languages) {
      for (const kind of ['hello', 'stdin', 'args', 'runtime-error']) expect(fixture(language, kind), `${language} ${kind}`).toBeDefined();
      if (registry.find(language)!.compile) expect(fixture(language, 'compile-error'), `${language} compile-error`).toBeDefined();
    }
  });
});

describe.concurrent.each(languages)('%s', (language) => {
  const compiled = registry.find(language)!.compile !== undefined;

  /** Runs one of the language's programs; compiled languages must report their compile. */
  async function run(code: string, extra: Record<string, unknown> = {}): Promise<ExecutionJson> {
    const ex = await runExecution(svc.baseUrl, { language, code, ...extra });
    if (ex.result) expect(ex.result.compile === null, `result.compile for ${language}`).toBe(!compiled);
    return ex;
  }

  it('runs hello world', async () => {
    const ex = await run(required(language, 'hello'));
    expect(ex.status, account(ex)).toBe('succeeded');
    expect(ex.result?.stdout).toBe('hello, world\n');
    if (compiled) expect(ex.result?.compile).toMatchObject({ exitCode: 0, limit: null });
  }, 180_000);

  it('reads stdin', async () => {
    const ex = await run(required(language, 'stdin'), { stdin: 'ada\n' });
    expect(ex.status, account(ex)).toBe('succeeded');
    expect(ex.result?.stdout).toBe('hi ada\n');
  }, 180_000);

  it('gets its args, spaces and quotes kept', async () => {
    const args = ['one', 'two words', "it's \"quoted\""];
    const ex = await run(required(language, 'args'), { args });
    expect(ex.status, account(ex)).toBe('succeeded');
    expect(ex.result?.stdout).toBe(args.map((a) => `${a}\n`).join(''));
  }, 180_000);

  it('fails on a runtime error', async () => {
    const ex = await run(required(language, 'runtime-error'));
    expect(ex.status, account(ex)).toBe('failed');
    expect(ex.result?.exitCode).not.toBe(0);
    if (compiled) expect(ex.result?.compile?.exitCode).toBe(0);
  }, 180_000);

  if (compiled) it('ends compile_failed on a compile error, with what the compiler said, and does not run', async () => {
    const ex = await run(required(language, 'compile-error'));
    expect(ex.status, account(ex)).toBe('compile_failed');
    const compile = ex.result!.compile!;
    expect(compile.exitCode).not.toBe(0);
    expect(compile.limit).toBeNull();
    expect((compile.stdout + compile.stderr).length).toBeGreaterThan(0);
    expect(ex.result).toMatchObject({ exitCode: null, stdout: '', stderr: '' });
  }, 180_000);
});

describe.concurrent('Piston\'s test programs', () => {
  const piston = readdirSync(path.join(FIXTURES, 'piston')).filter((f) => f !== 'README.md').sort();

  it('cover every language both projects ship', () => {
    expect(piston.length).toBeGreaterThanOrEqual(25);
    for (const file of piston) expect(languages, file).toContain(path.parse(file).name);
  });

  it.each(piston)('%s prints OK', async (file) => {
    const ex = await runExecution(svc.baseUrl, { language: path.parse(file).name, code: readFileSync(path.join(FIXTURES, 'piston', file), 'utf8') });
    expect(ex.status, account(ex)).toBe('succeeded');
    // Trailing whitespace aside; and Piston's nasm program writes its string's terminating NUL too.
    expect(ex.result?.stdout.replace(/[\s\0]+$/, '')).toBe('OK');
  }, 180_000);
});
