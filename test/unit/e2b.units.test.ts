import { AuthenticationError, RateLimitError, SandboxError, SandboxNotFoundError, ServiceBusyError } from 'e2b';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { enabledProviders } from '../../src/shared/contract/providers.js';
import { classifyE2BError } from '../../src/worker/sandbox/e2b/classifyE2BError.js';
import { exitStatusOf } from '../../src/worker/sandbox/e2b/exitStatus.js';
import { parseProbe } from '../../src/worker/sandbox/e2b/launchCommand.js';
import { SandboxSlots } from '../../src/worker/sandbox/e2b/SandboxSlots.js';
import { TokenBucket } from '../../src/worker/sandbox/e2b/TokenBucket.js';

describe('TokenBucket', () => {
  it('serves takers in order, one token per 1/rate seconds after the first', async () => {
    const bucket = new TokenBucket(20);
    const started = performance.now();
    const times: number[] = [];
    // Served at once means before any timer: a wall-clock bound would depend on the host's load.
    let timerFired = false;
    setImmediate(() => (timerFired = true));
    let firstWaited: boolean | undefined;
    await Promise.all([0, 1, 2, 3].map(async (i) => {
      await bucket.take();
      if (i === 0) firstWaited = timerFired;
      times[i] = performance.now() - started;
    }));
    expect(firstWaited).toBe(false);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(45);
  });

  it('gives up a wait when its signal aborts, without taking the token', async () => {
    const bucket = new TokenBucket(1);
    await bucket.take();
    const abort = new AbortController();
    const waiting = bucket.take(abort.signal);
    abort.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('SandboxSlots', () => {
  it('hands a returned slot to the first waiter, and frees it when nobody waits', async () => {
    const slots = new SandboxSlots(1);
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
    const order: string[] = [];
    const a = slots.take().then(() => order.push('a'));
    const b = slots.take().then(() => order.push('b'));
    expect(slots.waiting).toBe(2);
    slots.give();
    await a;
    slots.give();
    await b;
    expect(order).toEqual(['a', 'b']);
    slots.give();
    // Nobody waited for the last one: it is free again, and it is the only one.
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
  });

  it('gives a returned slot to a waiting job before the pool', async () => {
    const slots = new SandboxSlots(1);
    slots.tryTake();
    const order: string[] = [];
    const pool = slots.take(undefined, true).then(() => order.push('pool'));
    const job = slots.take().then(() => order.push('job'));
    expect(slots.waiting).toBe(1);
    slots.give();
    await job;
    slots.give();
    await pool;
    expect(order).toEqual(['job', 'pool']);
  });

  it('drops a waiter whose signal aborts', async () => {
    const slots = new SandboxSlots(1);
    slots.tryTake();
    const abort = new AbortController();
    const waiting = slots.take(abort.signal);
    abort.abort(new Error('closing'));
    await expect(waiting).rejects.toThrow('closing');
    expect(slots.waiting).toBe(0);
  });
});

describe('classifyE2BError', () => {
  it('tells a rejected key from faults worth a retry', () => {
    expect(classifyE2BError(new AuthenticationError('no'))).toBe('auth');
    expect(classifyE2BError(Object.assign(new SandboxError('403: forbidden'), { statusCode: 403 }))).toBe('auth');
    expect(classifyE2BError(new RateLimitError('slow down'))).toBe('transient');
    expect(classifyE2BError(new ServiceBusyError('busy'))).toBe('transient');
    expect(classifyE2BError(Object.assign(new SandboxError('502: bad gateway'), { statusCode: 502 }))).toBe('transient');
    expect(classifyE2BError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('transient');
    expect(classifyE2BError(new SandboxNotFoundError('gone'))).toBe('gone');
    expect(classifyE2BError(Object.assign(new SandboxError('400: bad template'), { statusCode: 400 }))).toBe('other');
  });
});

describe("envd's end of a process", () => {
  it('reports a death by signal as a shell does', () => {
    expect(exitStatusOf(3, 'exit status 3')).toEqual({ exitCode: 3, signal: null });
    expect(exitStatusOf(0, undefined)).toEqual({ exitCode: 0, signal: null });
    expect(exitStatusOf(-1, 'signal: killed')).toEqual({ exitCode: 137, signal: 'SIGKILL' });
    expect(exitStatusOf(-1, 'signal: segmentation fault (core dumped)')).toEqual({ exitCode: 139, signal: 'SIGSEGV' });
    expect(exitStatusOf(-1, 'signal: signal 34')).toEqual({ exitCode: 162, signal: 'SIG34' });
  });
});

describe('the interpreter probe', () => {
  it('reads versions as the local provider writes them, and leaves out what is missing', () => {
    expect(parseProbe('python=Python 3.12.1\nnode=bash: node: command not found\nbash=5.2.21(1)-release\n')).toEqual([
      { runtime: 'python', version: '3.12.1' },
      { runtime: 'bash', version: '5.2.21(1)-release' },
    ]);
  });
});

describe('enabling the e2b provider', () => {
  it('enables e2b with its key, and local only as the default', () => {
    expect(enabledProviders(loadConfig({}))).toEqual(['local']);
    expect(enabledProviders(loadConfig({ E2B_API_KEY: 'e2b_x' }))).toEqual(['local', 'e2b']);
    expect(enabledProviders(loadConfig({ E2B_API_KEY: 'e2b_x', SANDBOX_PROVIDER: 'e2b' }))).toEqual(['e2b']);
  });

  it('refuses e2b as the default without a key, naming the variable', () => {
    expect(() => loadConfig({ SANDBOX_PROVIDER: 'e2b' })).toThrow(/SANDBOX_PROVIDER: e2b needs E2B_API_KEY/);
  });
});
