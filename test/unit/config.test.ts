import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig, resultTtlSeconds } from '../../src/shared/config.js';
import { settingReferences } from '../../src/shared/config/reference.js';
import { problemsOf } from '../helpers/configProblems.js';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      QUEUE_PREFIX: 'sandq',
      SANDBOX_PROVIDER: 'local',
      RESULT_TTL_MS: 86_400_000,
      POOL_MAX_IDLE_MS: 300_000,
      TIMEOUT_MS_DEFAULT: 10000,
      TIMEOUT_MS_MAX: 60000,
      MAX_STORED_BYTES_PER_KEY: 1073741824,
      MAX_QUEUED_PER_KEY: 1000,
      LONG_POLL_MAX: 1000,
      LONG_POLL_MAX_PER_KEY: 100,
      ADMIN_BOARD_WRITES: false,
    });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('reads values and treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '8080', REDIS_URL: 'redis://10.0.0.5:6380', WORKER_CONCURRENCY: '', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(8080);
    expect(config.REDIS_URL).toBe('redis://10.0.0.5:6380');
    expect(config.WORKER_CONCURRENCY).toBeGreaterThan(0);
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['WORKER_CONCURRENCY', '0'],
    ['SANDBOX_PROVIDER', 'docker'],
    ['LOG_LEVEL', 'loud'],
    ['RESULT_TTL_MS', '-5'],
    ['RESULT_TTL_MS', '999'],
    ['POOL_MAX_IDLE_MS', '0'],
    ['QUEUE_PREFIX', 'a:b'],
    ['WEBHOOK_ALLOW_PRIVATE', 'maybe'],
    ['WEBHOOK_ATTEMPTS', '0'],
    ['ALLOWED_HOSTS', 'sandq.example.com:3000'],
    ['ALLOWED_HOSTS', 'http://sandq.example.com'],
  ])('names %s when it is %j', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
    expect(problems[0]).toContain(JSON.stringify(value));
  });

  it('spreads webhook retries over about an hour by default, and reads the private-target switch', () => {
    const config = loadConfig({});
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(false);
    // Exponential backoff: the n-th retry waits BACKOFF * 2^(n-1).
    const totalMs = Array.from({ length: config.WEBHOOK_ATTEMPTS - 1 }, (_, n) => config.WEBHOOK_BACKOFF_MS * 2 ** n).reduce((a, b) => a + b, 0);
    expect(totalMs / 60_000).toBeGreaterThan(50);
    expect(totalMs / 60_000).toBeLessThan(70);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'true' }).WEBHOOK_ALLOW_PRIVATE).toBe(true);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'false' }).WEBHOOK_ALLOW_PRIVATE).toBe(false);
  });

  it('reads ALLOWED_HOSTS as lower-case names', () => {
    expect(loadConfig({}).ALLOWED_HOSTS).toEqual([]);
    expect(loadConfig({ ALLOWED_HOSTS: ' Sandq.Internal ,box-7,[::2]' }).ALLOWED_HOSTS).toEqual(['sandq.internal', 'box-7', '[::2]']);
  });

  it('names a bad WEBHOOK_SECRET without repeating it', () => {
    const problems = problemsOf({ WEBHOOK_SECRET: 'short-secret' });
    expect(problems).toEqual(['WEBHOOK_SECRET: use at least 16 characters (got 12 characters)']);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'y' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT']);
  });

  it('refuses a default above its maximum', () => {
    const problems = problemsOf({ TIMEOUT_MS_DEFAULT: '90000' });
    expect(problems[0]).toMatch(/^TIMEOUT_MS_DEFAULT: must not exceed TIMEOUT_MS_MAX/);
  });

  it('names the bad API_KEYS entry by position and name, never with the length of the whole variable or the key', () => {
    const good = 'alice:' + 'a'.repeat(20);
    const badKey = 'tiny-key';
    const problems = problemsOf({ API_KEYS: `${good},bob:${badKey}` });
    expect(problems).toEqual(['API_KEYS: entry 2 (name "bob"): the key must have at least 16 characters']);
    expect(problems[0]).not.toContain(badKey);
    expect(problems[0]).not.toMatch(/characters\)$/);
  });

  it('keeps RESULT_TTL_MS to the second for Redis and BullMQ', () => {
    expect(resultTtlSeconds(loadConfig({}))).toBe(86_400);
    expect(resultTtlSeconds(loadConfig({ RESULT_TTL_MS: '1500' }))).toBe(2);
  });
});

describe('the settings document themselves', () => {
  const references = settingReferences();

  it('describes every variable of the schema, once, in a group', () => {
    expect(references.map((r) => r.name).sort()).toEqual(Object.keys(configSchema.shape).sort());
    for (const r of references) expect(r.description.length, r.name).toBeGreaterThan(10);
  });

  // Durations end in _MS and sizes in _BYTES, before a scope suffix; the request-limit
  // mirrors (MEMORY_MB_*) keep the unit of the request field they mirror.
  it.each(references.map((r) => [r.name, r.unit] as const))('%s: its name says its unit (%s)', (name, unit) => {
    const unitInName = /_(MS|BYTES|MB)(_DEFAULT|_MAX|_PER_KEY)?$/.exec(name)?.[1];
    const expected = { ms: 'MS', bytes: 'BYTES', MiB: 'MB' }[unit as string];
    expect(unitInName).toBe(expected);
  });

  it('shows host-dependent defaults as words, not as this machine\'s values', () => {
    const byName = new Map(references.map((r) => [r.name, r]));
    expect(byName.get('WORKER_CONCURRENCY')?.shownDefault).toBe('number of CPUs');
    expect(byName.get('SANDBOX_WORK_ROOT')?.shownDefault).toBe('`$TMPDIR/sandq`');
    expect(byName.get('RESULT_TTL_MS')?.shownDefault).toBe('`86400000` (1 d)');
    expect(byName.get('REDIS_URL')?.shownDefault).toBe('unset');
  });
});
