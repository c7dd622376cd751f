import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator } from '../../src/api/auth/ApiKeyAuthenticator.js';
import { AdminCredentials } from '../../src/shared/AdminCredentials.js';
import { parseApiKeys } from '../../src/shared/apiKeys.js';
import { loadConfig } from '../../src/shared/config.js';
import { problemsOf } from '../helpers/configProblems.js';

const KEY_A = 'sk_live_aaaaaaaaaaaaaaaa';
const KEY_B = 'sk_live_bbbbbbbbbbbbbbbb';

describe('API_KEYS', () => {
  it('keeps only SHA-256 digests, never the keys', () => {
    const config = loadConfig({ API_KEYS: ` alice:${KEY_A} , bob:${KEY_B}` });
    expect(config.API_KEYS?.map((k) => k.name)).toEqual(['alice', 'bob']);
    expect(config.API_KEYS?.[0]?.hash.toString('hex')).toBe(createHash('sha256').update(KEY_A).digest('hex'));
    expect(JSON.stringify(config)).not.toContain(KEY_A);
  });

  it('finds the owner of a token among all keys, and nobody for another token', () => {
    const hashed = createHash('sha256').update(KEY_B).digest('hex');
    const auth = new ApiKeyAuthenticator(parseApiKeys(`alice:${KEY_A},bob:sha256:${hashed},alice:${KEY_A}x`));
    expect(auth.ownerOf(KEY_A)).toBe('alice');
    expect(auth.ownerOf(`${KEY_A}x`)).toBe('alice');
    expect(auth.ownerOf(KEY_B)).toBe('bob');
    expect(auth.ownerOf(hashed)).toBeUndefined();
    expect(auth.ownerOf(KEY_A.slice(0, -1))).toBeUndefined();
  });

  it.each([
    ['no name', `:${KEY_A}`, /entry 1: write name:key/],
    ['no colon', KEY_A, /entry 1: write name:key/],
    ['a name with a space', `al ice:${KEY_A}`, /entry 1: write name:key/],
    ['a short key', 'alice:short-key', /entry 1 \(name "alice"\): the key must have at least 16 characters/],
    ['a key with a comma-free but invalid character', `alice:${KEY_A}"`, /the key may hold only/],
    ['the same key twice', `alice:${KEY_A},bob:${KEY_A}`, /entry 2 \(name "bob"\): the same key is listed twice/],
    ['the name reserved for keyless executions', `anonymous:${KEY_A}`, /entry 1: "anonymous" is reserved/],
    ['nothing', ' , ', /no name:key entry/],
  ])('refuses %s, without repeating the value', (_name, value, message) => {
    const problems = problemsOf({ API_KEYS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^API_KEYS: /);
    expect(problems[0]).toMatch(message);
    // The entry is named by position and name; the length of the whole variable would pass for the key's.
    expect(problems[0]).not.toMatch(/\(got \d+ characters\)/);
    expect(problems[0]).not.toContain(KEY_A);
  });

  it('needs ADMIN_USER and ADMIN_PASSWORD together, and a password of 12 characters or more', () => {
    expect(problemsOf({ ADMIN_USER: 'ops' })).toEqual(['ADMIN_PASSWORD: set ADMIN_USER and ADMIN_PASSWORD together']);
    expect(problemsOf({ ADMIN_PASSWORD: 'long enough password' })).toEqual(['ADMIN_USER: set ADMIN_USER and ADMIN_PASSWORD together']);
    expect(problemsOf({ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' })).toEqual(['ADMIN_PASSWORD: use at least 12 characters (got 5 characters)']);
  });

  it('checks HTTP Basic admin credentials', () => {
    const admin = new AdminCredentials('ops', 'pass:with:colons');
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    expect(admin.accepts(basic('ops:pass:with:colons'))).toBe(true);
    expect(admin.accepts(basic('ops:pass:with:colon'))).toBe(false);
    expect(admin.accepts(basic('op:pass:with:colons'))).toBe(false);
    expect(admin.accepts(basic('opspass'))).toBe(false);
    expect(admin.accepts('Bearer x')).toBe(false);
    expect(admin.accepts(undefined)).toBe(false);
  });

  it('reads the operations settings with their defaults', () => {
    expect(loadConfig({})).toMatchObject({
      NODE_ENV: 'development',
      RATE_LIMIT_PER_MINUTE: 600,
      MAX_QUEUE_DEPTH: 10_000,
      SHUTDOWN_GRACE_MS: 60_000,
      JOB_LOCK_MS: 30_000,
      WORKER_METRICS_HOST: '127.0.0.1',
    });
    expect(loadConfig({}).WORKER_METRICS_PORT).toBeUndefined();
    expect(problemsOf({ NODE_ENV: 'prod' })[0]).toMatch(/^NODE_ENV: /);
    expect(problemsOf({ JOB_LOCK_MS: '10' })[0]).toMatch(/^JOB_LOCK_MS: /);
  });
});
