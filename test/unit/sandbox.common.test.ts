import { describe, expect, it } from 'vitest';
import { outputCollectors } from '../../src/worker/sandbox/OutputCollector.js';
import { ArtifactSelection, MAX_ARTIFACT_ENTRIES, type WorkDirEntry } from '../../src/worker/sandbox/common/ArtifactSelection.js';
import { exitCodeOfSignal, signalOfExitCode } from '../../src/worker/sandbox/common/exitStatus.js';
import { versionFromAnswer } from '../../src/worker/sandbox/common/interpreters.js';
import { nulSpec, programFiles } from '../../src/worker/sandbox/common/jobSpec.js';
import { assembleOutcome, asMemoryExceeded } from '../../src/worker/sandbox/common/runOutcome.js';
import { runtimeFlags } from '../../src/worker/sandbox/common/runtimeFlags.js';
import { RunWatch } from '../../src/worker/sandbox/common/RunWatch.js';
import { programEnvironment, sandboxEnvironment } from '../../src/worker/sandbox/common/sandboxEnvironment.js';
import type { RunOutcome } from '../../src/worker/sandbox/SandboxProvider.js';
import { eventually } from '../helpers/eventually.js';

const file = (path: string, size: number, links = 1): WorkDirEntry => ({ path, kind: 'file', links, size });

/** Walks `entries` as a provider does, handing each admitted file `size` bytes of content. */
function select(patterns: string[], maxBytes: number, entries: WorkDirEntry[]) {
  const selection = new ArtifactSelection(patterns, maxBytes);
  for (const entry of entries) {
    if (!selection.matches(entry.path) || !selection.admits(entry)) continue;
    selection.take(entry.path, Buffer.alloc(entry.size, 'x'));
  }
  return selection.result();
}

describe('ArtifactSelection', () => {
  it('returns the matching regular files, base64, and ignores what does not match', () => {
    const result = select(['*.txt', 'out/**'], 1000, [file('a.txt', 3), file('b.log', 3), file('out/deep/c.bin', 2)]);
    expect(result.artifacts).toEqual([
      { path: 'a.txt', size: 3, encoding: 'base64', content: Buffer.from('xxx').toString('base64') },
      { path: 'out/deep/c.bin', size: 2, encoding: 'base64', content: Buffer.from('xx').toString('base64') },
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('does not match dotfiles unless a pattern names them', () => {
    expect(select(['*'], 1000, [file('.secret', 1)]).artifacts).toEqual([]);
    expect(select(['.secret'], 1000, [file('.secret', 1)]).artifacts.map((a) => a.path)).toEqual(['.secret']);
  });

  it('wants nothing, and matches nothing, when no pattern is given', () => {
    const selection = new ArtifactSelection([], 1000);
    expect(selection.wanted).toBe(false);
    expect(selection.matches('a.txt')).toBe(false);
  });

  it('skips links, non-regular files and hard-linked files, saying why', () => {
    const result = select(['*'], 1000, [
      { path: 'link', kind: 'symlink', links: 1, size: 0 },
      { path: 'fifo', kind: 'other', links: 1, size: 0 },
      file('shared', 1, 2),
    ]);
    expect(result.artifacts).toEqual([]);
    expect(result.skipped).toEqual([
      { path: 'link', reason: 'is a symbolic link' },
      { path: 'fifo', reason: 'is not a regular file' },
      { path: 'shared', reason: 'has more than one hard link' },
    ]);
  });

  it('spends the byte budget in walk order and skips what no longer fits, naming the bytes left', () => {
    const result = select(['*'], 10, [file('a', 6), file('b', 5), file('c', 4)]);
    expect(result.artifacts.map((a) => a.path)).toEqual(['a', 'c']);
    expect(result.skipped).toEqual([{ path: 'b', reason: 'does not fit the remaining 4 bytes of the artifact limit' }]);
  });

  it('checks the budget again on the bytes read: a file that grew after it was listed is skipped', () => {
    const selection = new ArtifactSelection(['*'], 10);
    expect(selection.admits(file('grown', 4))).toBe(true);
    selection.take('grown', Buffer.alloc(11));
    expect(selection.result()).toEqual({ artifacts: [], skipped: [{ path: 'grown', reason: 'does not fit the remaining 10 bytes of the artifact limit' }] });
  });

  it('stops at the kind for a walk that knows it first, and says when the walk stopped early', () => {
    const selection = new ArtifactSelection(['*'], 10);
    expect(selection.admitsKind('x', 'symlink')).toBe(false);
    expect(selection.admitsKind('y', 'file')).toBe(true);
    selection.stoppedEarly();
    expect(selection.result().skipped).toEqual([
      { path: 'x', reason: 'is a symbolic link' },
      { path: '.', reason: `the work dir has more than ${MAX_ARTIFACT_ENTRIES} entries; the rest was not searched` },
    ]);
  });
});

describe('assembleOutcome', () => {
  const output = () => {
    const collectors = outputCollectors(4);
    collectors.stdout.push(Buffer.from('hello'));
    collectors.stderr.push(Buffer.from('oops'));
    return collectors;
  };

  it('reports a program that ended by itself with its own exit status and what it wrote, within the cap', () => {
    expect(assembleOutcome({ end: { exited: { exitCode: 3, signal: null } }, output: output(), outputEncoding: 'utf8', durationMs: 12 })).toEqual({
      termination: 'exited',
      exitCode: 3,
      signal: null,
      stdout: 'hell',
      stderr: 'oops',
      stdoutEncoding: 'utf8',
      stderrEncoding: 'utf8',
      stdoutTruncated: true,
      stderrTruncated: false,
      durationMs: 12,
      cpuTimeMs: null,
      memoryPeakBytes: null,
      limit: null,
    });
  });

  it('names the limit behind each stop, and takes the kernel\'s rlimit signals for limits too', () => {
    const ended = (end: Parameters<typeof assembleOutcome>[0]['end'], limit?: 'cpuTimeMs') => assembleOutcome({ end, output: output(), outputEncoding: 'utf8', durationMs: 1, ...(limit ? { limit } : {}) });
    expect(ended({ stoppedBy: 'timed_out' })).toMatchObject({ termination: 'timed_out', limit: 'timeoutMs' });
    expect(ended({ stoppedBy: 'timed_out' }, 'cpuTimeMs')).toMatchObject({ termination: 'timed_out', limit: 'cpuTimeMs' });
    expect(ended({ stoppedBy: 'output_exceeded' })).toMatchObject({ termination: 'output_exceeded', limit: 'maxOutputBytes' });
    expect(ended({ stoppedBy: 'cancelled' })).toMatchObject({ termination: 'cancelled', limit: null });
    expect(ended({ exited: { exitCode: 152, signal: 'SIGXCPU' } })).toMatchObject({ termination: 'timed_out', limit: 'cpuTimeMs', signal: 'SIGXCPU' });
    expect(ended({ exited: { exitCode: 153, signal: 'SIGXFSZ' } })).toMatchObject({ termination: 'exited', limit: 'maxFileBytes', signal: 'SIGXFSZ' });
    expect(ended({ exited: { exitCode: 137, signal: 'SIGKILL' } })).toMatchObject({ termination: 'exited', limit: null });
  });

  it('gives output as the request asks: exact bytes in base64, or text that says when bytes were not UTF-8', () => {
    const collectors = outputCollectors(16);
    collectors.stdout.push(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    collectors.stderr.push(Buffer.from('é ok'));
    const end = { exited: { exitCode: 0, signal: null } };
    expect(assembleOutcome({ end, output: collectors, outputEncoding: 'base64', durationMs: 1 })).toMatchObject({
      ...{ stdout: '//4AQQ==', stdoutEncoding: 'base64', stderr: Buffer.from('é ok').toString('base64'), stderrEncoding: 'base64' },
    });
    expect(assembleOutcome({ end, output: collectors, outputEncoding: 'utf8', durationMs: 1 })).toMatchObject({
      ...{ stdout: '\uFFFD\uFFFD\0A', stdoutEncoding: 'utf8-replaced', stderr: 'é ok', stderrEncoding: 'utf8' },
    });
  });

  it('reports a program the worker stopped as killed, whatever its transport said', () => {
    for (const stoppedBy of ['timed_out', 'output_exceeded', 'cancelled'] as const) {
      const outcome = assembleOutcome({ end: { stoppedBy }, output: output(), outputEncoding: 'utf8', durationMs: 5 });
      expect(outcome).toMatchObject({ termination: stoppedBy, exitCode: null, signal: 'SIGKILL', stdout: 'hell' });
    }
  });
});

describe('asMemoryExceeded', () => {
  const base: RunOutcome = { termination: 'exited', exitCode: 137, signal: 'SIGKILL', stdout: 'a', stderr: '', stdoutEncoding: 'utf8', stderrEncoding: 'utf8', stdoutTruncated: false, stderrTruncated: false, durationMs: 7, cpuTimeMs: 3, memoryPeakBytes: 1024, limit: null };

  it('turns an exit or an output overflow into a memory kill, keeping the output', () => {
    expect(asMemoryExceeded(base)).toEqual({ ...base, termination: 'memory_exceeded', exitCode: null, signal: 'SIGKILL', limit: 'memoryMb' });
    expect(asMemoryExceeded({ ...base, termination: 'output_exceeded', exitCode: null })).toMatchObject({ termination: 'memory_exceeded' });
  });

  it('leaves a timeout or a cancel the worker acted on as it was', () => {
    for (const termination of ['timed_out', 'cancelled'] as const) {
      const outcome = { ...base, termination, exitCode: null };
      expect(asMemoryExceeded(outcome)).toBe(outcome);
    }
  });
});

describe('exit statuses', () => {
  it('reads 128 + N as signal N, and anything else as an ordinary exit', () => {
    expect(signalOfExitCode(137)).toBe('SIGKILL');
    expect(signalOfExitCode(139)).toBe('SIGSEGV');
    expect(signalOfExitCode(128)).toBeNull();
    expect(signalOfExitCode(1)).toBeNull();
    expect(signalOfExitCode(255)).toBeNull();
    expect(exitCodeOfSignal(9)).toBe(137);
  });
});

describe('runtimeFlags', () => {
  it('runs python unbuffered and gives node before 22, or of unknown version, module detection', () => {
    expect(runtimeFlags('python', '3.12.1')).toEqual(['-u']);
    expect(runtimeFlags('node', 'v20.11.0')).toEqual(['--experimental-detect-module']);
    expect(runtimeFlags('node', undefined)).toEqual(['--experimental-detect-module']);
    expect(runtimeFlags('node', 'v22.1.0')).toEqual([]);
    expect(runtimeFlags('bash', '5.2.21(1)-release')).toEqual([]);
  });
});

describe('the job spec and environment', () => {
  it('lays the request\'s env over the sandbox\'s', () => {
    const base = sandboxEnvironment({ workDir: '/work', searchPath: '/usr/bin' });
    expect(base).toEqual({ PATH: '/usr/bin', HOME: '/work', TMPDIR: '/tmp', LANG: 'C.UTF-8' });
    expect(programEnvironment(base, { LANG: 'fr_FR.UTF-8', X: '1' })).toEqual({ ...base, LANG: 'fr_FR.UTF-8', X: '1' });
  });

  it('puts the source at the entry file, or where the transpiler reads it, after the job\'s own files', () => {
    const files = [{ path: 'data.txt', content: Buffer.from('d') }];
    expect(programFiles({ files, source: 'print(1)', entryFile: 'main.py' })).toEqual([...files, { path: 'main.py', content: Buffer.from('print(1)') }]);
    expect(programFiles({ files: [], source: 'let x = 1', entryFile: 'main.js', transpile: { from: 'main.ts' } })).toEqual([{ path: 'main.ts', content: Buffer.from('let x = 1') }]);
  });

  it('writes an interpreter\'s version the same whichever sandbox asked', () => {
    expect(versionFromAnswer('Python 3.12.1\n')).toBe('3.12.1');
    expect(versionFromAnswer('v20.11.0\n')).toBe('v20.11.0');
    expect(versionFromAnswer('5.2.21(1)-release\n')).toBe('5.2.21(1)-release');
  });

  it('writes leading fields, argc, args and NAME=value, each NUL-terminated', () => {
    expect(nulSpec(['main.sh'], ['a b', ''], { X: '1=2' })).toBe('main.sh\x002\x00a b\x00\x00X=1=2\x00');
    expect(nulSpec([], [], {})).toBe('0\x00');
  });
});

describe('RunWatch', () => {
  const watchOf = (options: { timeoutMs?: number; maxOutputBytes?: number; signal?: AbortSignal } = {}) => {
    const stops: string[] = [];
    const passedOn: string[] = [];
    const watch = new RunWatch(
      { timeoutMs: options.timeoutMs ?? 60_000, maxOutputBytes: options.maxOutputBytes ?? 1024, signal: options.signal, onOutput: (stream, chunk) => passedOn.push(`${stream}:${chunk}`) },
      (reason) => stops.push(reason),
    );
    return { watch, stops, passedOn };
  };

  it('passes output on as it comes and reports the program\'s own exit when nothing stopped it', () => {
    const { watch, stops, passedOn } = watchOf();
    watch.start();
    watch.take('stdout', Buffer.from('out'));
    watch.take('stderr', Buffer.from('err'));
    const outcome = watch.outcome({ exitCode: 2, signal: null });
    watch.dispose();
    expect(passedOn).toEqual(['stdout:out', 'stderr:err']);
    expect(stops).toEqual([]);
    expect(outcome).toMatchObject({ termination: 'exited', exitCode: 2, signal: null, stdout: 'out', stderr: 'err' });
  });

  it('stops the program at the output cap, passing on only what fits', () => {
    const { watch, stops, passedOn } = watchOf({ maxOutputBytes: 4 });
    watch.start();
    watch.take('stdout', Buffer.from('abcdef'));
    watch.take('stdout', Buffer.from('more'));
    watch.dispose();
    expect(passedOn).toEqual(['stdout:abcd']);
    expect(stops).toEqual(['output_exceeded']);
    expect(watch.outcome()).toMatchObject({ termination: 'output_exceeded', exitCode: null, signal: 'SIGKILL', stdout: 'abcd', stdoutTruncated: true });
  });

  it('stops the program at its timeout, counted from start', async () => {
    const { watch, stops } = watchOf({ timeoutMs: 20 });
    watch.start();
    await eventually(async () => stops.length > 0, 5000, 'the timeout');
    watch.dispose();
    expect(stops).toEqual(['timed_out']);
    expect(watch.outcome({ exitCode: 137, signal: null }).termination).toBe('timed_out');
  });

  it('stops the program when aborted, even before it started, and the first reason stands', () => {
    const abort = new AbortController();
    abort.abort();
    const { watch, stops } = watchOf({ signal: abort.signal, maxOutputBytes: 1 });
    watch.start();
    watch.take('stdout', Buffer.from('xx'));
    watch.dispose();
    expect(stops).toEqual(['cancelled']);
    expect(watch.outcome().termination).toBe('cancelled');
  });

  it('refuses an outcome without an exit status for a program that was not stopped', () => {
    const { watch } = watchOf();
    expect(() => watch.outcome()).toThrow();
  });
});
