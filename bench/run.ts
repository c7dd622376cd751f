import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { RedisServerProcess } from '../src/cli/RedisServerProcess.js';
import { LanguageRegistry } from '../src/shared/languages/LanguageRegistry.js';
import { bullmqRoundTrip, coldSpawnLatency, hostCompileAndRun, rawSpawnRate, type HostCompileAndRun } from './baselines.js';
import { serviceMemory, startService } from './service.js';
import { percentile, progress, timed } from './stats.js';

/**
 * `npm run bench`: sandq measured against this machine's own limits, in one
 * run. Every figure stands beside the baseline it should be judged by.
 */

/** How much each measure takes: `--quick`'s and a full run's. */
const SAMPLES = {
  quick: { cold: 10, warm: 30, saturate: 100, compiled: 5, testCaseRounds: 1, intakeSeconds: 3 },
  full: { cold: 30, warm: 200, saturate: 400, compiled: 20, testCaseRounds: 5, intakeSeconds: 10 },
};

/** What `--only` may pick; all of them by default. */
const SECTIONS = ['warm', 'test-cases', 'compiled', 'intake'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: npm run bench -- [--quick] [--only <sections>] [--json <file>]

Measures sandq on this machine beside the baselines it should be judged by
(a raw bubblewrap spawn, a BullMQ round trip, the same toolchain outside any
sandbox) and prints one table: cold start, idle memory, warm latency
(p50/p95/p99, and where the time went), saturated throughput, compile + run of
a hello world in C, C++, Java, Go and Rust (p50/p95, and the compile's part),
and the intake of an API-only process. It starts its own redis-server and
service, and needs what \`npm start\` needs (redis-server, bwrap) and those
five toolchains under /usr (the \`packages\` of languages/<name>.json).

Options:
  --quick         fewer samples and shorter runs (${SAMPLES.quick.compiled} compile + runs per
                  language instead of ${SAMPLES.full.compiled}), for a smoke check; the figures,
                  p95 above all, are noisier
  --only <list>   only these sections, comma-separated: warm (raw baselines,
                  cold start, idle memory, warm latency, throughput),
                  test-cases (the 20-case submissions), compiled (compile +
                  run), intake; each row's baseline is measured with it
  --json <file>   also write the rows (with their baselines and targets) to <file>
  -h, --help      show this text`;

let parsed;
try {
  parsed = parseArgs({ options: { json: { type: 'string' }, only: { type: 'string' }, quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message.split('. ')[0]}. See \`npm run bench -- --help\`.\n`);
  process.exit(2);
}
const flags = parsed.values;
if (flags.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const N = flags.quick ? SAMPLES.quick : SAMPLES.full;
const only = flags.only?.split(',').map((name) => name.trim());
const unknown = only?.filter((name) => !(SECTIONS as readonly string[]).includes(name)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`bench: --only takes ${SECTIONS.join(', ')}; not ${unknown.join(', ')}. See \`npm run bench -- --help\`.\n`);
  process.exit(2);
}
const wanted = (section: Section) => !only || only.includes(section);
const UID_BASE = 2_000_000;
const UID_COUNT = 4096;
const MiB = 1024 * 1024;

interface Row {
  measure: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value / baseline.value must be at most (≤) or at least (≥) this. */
  target?: { op: '≤' | '≥'; ratio?: number; absolute?: number };
}

async function submit(baseUrl: string, body: unknown): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

interface ExecutionTimes {
  status: string;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  result: { durationMs: number; compile: { durationMs: number } | null } | null;
}

async function result(baseUrl: string, id: string): Promise<ExecutionTimes> {
  for (;;) {
    const execution = (await (await fetch(`${baseUrl}/v1/executions/${id}?wait=30`)).json()) as ExecutionTimes;
    if (execution.status !== 'queued' && execution.status !== 'running') return execution;
  }
}

/** Where one job's time went, from the service's own timestamps (ms). */
interface Breakdown {
  total: number;
  queue: number;
  /** The compile in the job's sandbox (0 for interpreted languages). */
  compile: number;
  sandboxRun: number;
  workerOverhead: number;
  resultToClient: number;
}

async function runOne(baseUrl: string, body: unknown): Promise<Breakdown> {
  const started = Date.now();
  const execution = await result(baseUrl, await submit(baseUrl, body));
  const ended = Date.now();
  if (execution.status !== 'succeeded') throw new Error(`a bench job ended ${execution.status}`);
  const [created, begun, finished] = [execution.createdAt, execution.startedAt, execution.finishedAt].map(Date.parse) as [number, number, number];
  const compile = execution.result?.compile?.durationMs ?? 0;
  const sandboxRun = execution.result?.durationMs ?? 0;
  return { total: ended - started, queue: begun - created, compile, sandboxRun, workerOverhead: finished - begun - compile - sandboxRun, resultToClient: ended - finished };
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const PY = { language: 'python', code: 'pass' };
const JS = { language: 'javascript', code: ';' };
const COMPILED = ['c', 'cpp', 'java', 'go', 'rust'];
const TEST_CASES = 20;
/** Each reads a number and prints it doubled: a grader's smallest program. */
const TEST_CASE_PROGRAMS: Record<string, string> = {
  c: '#include <stdio.h>\nint main(void) { long n; if (scanf("%ld", &n) != 1) return 1; printf("%ld\\n", 2 * n); return 0; }\n',
  python: 'print(2 * int(input()))\n',
};
const languages = LanguageRegistry.load();

/** The language's own hello world, the one its end-to-end tests run. */
function helloWorld(language: string): string {
  const dir = new URL(`../test/fixtures/languages/${language}/`, import.meta.url);
  const file = readdirSync(dir).find((name) => name.startsWith('hello.'));
  if (!file) throw new Error(`test/fixtures/languages/${language} has no hello program`);
  return readFileSync(new URL(file, dir), 'utf8');
}

const rows: Row[] = [];

/**
 * A TEST_CASES-case submission of a language's TEST_CASE_PROGRAMS, beside
 * what the same program costs run alone: the program time of as many
 * single runs (result.durationMs), plus one compile.
 */
async function testCaseRows(baseUrl: string, name: string): Promise<void> {
  const code = TEST_CASE_PROGRAMS[name]!;
  progress(`test cases: a ${TEST_CASES}-case ${name} submission, and ${TEST_CASES} single runs of the same program, ${N.testCaseRounds}×`);
  const stdinOf = (i: number) => `${i}\n`;
  const body = { language: name, code, tests: Array.from({ length: TEST_CASES }, (_, i) => ({ stdin: stdinOf(i), expectedStdout: `${2 * i}\n` })) };
  await runOne(baseUrl, body);
  const submissions: Breakdown[] = [];
  const baselines: number[] = [];
  for (let round = 0; round < N.testCaseRounds; round++) {
    submissions.push(await runOne(baseUrl, body));
    let programTime = 0;
    for (let i = 0; i < TEST_CASES; i++) {
      const single = await runOne(baseUrl, { language: name, code, stdin: stdinOf(i) });
      programTime += single.sandboxRun + (i === 0 ? single.compile : 0);
    }
    baselines.push(programTime);
  }
  const compiled = languages.find(name)!.compile !== undefined;
  rows.push({
    measure: `${name}: ${TEST_CASES}-case submission, POST→result, p50`,
    value: percentile(submissions.map((b) => b.total), 50),
    unit: 'ms',
    baseline: { name: `${TEST_CASES} single runs' program time${compiled ? ' + one compile' : ''}, p50`, value: percentile(baselines, 50) },
    target: { op: '≤', ratio: 1.5 },
  });
  rows.push({ measure: '  p50 of: the cases in their sandboxes (sum)', value: percentile(submissions.map((b) => b.sandboxRun), 50), unit: 'ms' });
}


const redis = await RedisServerProcess.start();
try {
  const env = { REDIS_URL: redis.url, WORKER_CONCURRENCY: '2', POOL_SIZE: '2', POOL_RUNTIMES: 'python,node' };
  if (wanted('warm')) {
    progress(`raw baselines: ${N.cold} cold bwrap spawns`);
    const cold = await coldSpawnLatency(N.cold);
    progress('raw baselines: spawn rate, 2 loops for 5 s');
    const spawnRate = await rawSpawnRate(2, flags.quick ? 2 : 5);
    progress('raw baselines: BullMQ no-op round trips');
    const bullmq = await bullmqRoundTrip(redis.url, flags.quick ? 50 : 300);
    rows.push({ measure: 'raw cold spawn: bwrap … python3 -c pass, p50', value: cold.p50, unit: 'ms' });
    rows.push({ measure: 'raw spawn rate, 2 parallel loops', value: spawnRate, unit: '/s' });
    rows.push({ measure: 'BullMQ no-op add→completed, p50', value: bullmq, unit: 'ms' });

    progress('cold start: the first job after the worker starts');
    const service = await startService('all', env);
    const firstJob = (await runOne(service.baseUrl, PY)).total;
    rows.push({ measure: 'cold start: first python job after start', value: firstJob, unit: 'ms', baseline: { name: 'raw cold spawn', value: cold.p50 }, target: { op: '≤', ratio: 10 } });

    await new Promise((r) => setTimeout(r, 3000));
    const memory = serviceMemory(service.child.pid!, UID_BASE, UID_COUNT);
    rows.push({ measure: `idle memory: worker+API process and ${memory.sandboxProcesses} sandbox processes (4 warm)`, value: (memory.serviceBytes + memory.sandboxBytes) / MiB, unit: 'MiB', target: { op: '≤', absolute: 150 } });
    rows.push({ measure: '  of which the worker+API process', value: memory.serviceBytes / MiB, unit: 'MiB' });

    for (const [name, body] of [['python', PY], ['javascript', JS]] as const) {
      progress(`warm latency: ${N.warm} ${name} jobs, one at a time`);
      const breakdowns: Breakdown[] = [];
      for (let i = 0; i < N.warm; i++) breakdowns.push(await runOne(service.baseUrl, body));
      const samples = breakdowns.map((b) => b.total);
      for (const p of [50, 95, 99]) {
        rows.push({
          measure: `warm ${name} POST→result, p${p}`,
          value: percentile(samples, p),
          unit: 'ms',
          ...(p === 50 && name === 'python' ? { baseline: { name: 'raw cold spawn', value: cold.p50 }, target: { op: '≤' as const, ratio: 1 } } : {}),
        });
      }
      const part = (key: keyof Breakdown) => percentile(breakdowns.map((b) => b[key]), 50);
      rows.push({ measure: '  p50 of: submit and queue wait', value: part('queue'), unit: 'ms' });
      rows.push({ measure: '  p50 of: program in its sandbox', value: part('sandboxRun'), unit: 'ms' });
      rows.push({ measure: '  p50 of: worker around it', value: part('workerOverhead'), unit: 'ms' });
      rows.push({ measure: '  p50 of: result to client', value: part('resultToClient'), unit: 'ms' });
  }

  progress(`saturated throughput: ${N.saturate} python jobs`);
  const ids: string[] = [];
  const saturateMs = await timed(async () => {
    await pool(Array.from({ length: N.saturate }), 32, async () => void ids.push(await submit(service.baseUrl, PY)));
    await pool(ids, 64, async (id) => {
      const execution = await result(service.baseUrl, id);
      if (execution.status !== 'succeeded') throw new Error(`a bench job ended ${execution.status}`);
    });
  });
  rows.push({ measure: 'saturated throughput, trivial python', value: N.saturate / (saturateMs / 1000), unit: 'jobs/s', baseline: { name: 'raw spawn rate', value: spawnRate }, target: { op: '≥', ratio: 0.8 } });
  await service.stop();
  }

  if (wanted('test-cases')) {
    const service = await startService('all', env);
    await testCaseRows(service.baseUrl, 'python');
    await service.stop();
  }

  // Compiled languages run on the bash launcher: a service whose warm pool holds bash sandboxes, as by default.
  // A job may use every core, as the host's compiler does: the baseline is the sandbox's cost, not a CPU quota's
  // (a JVM sized to one CPU compiles markedly slower than one that sees two).
  const compiledService = await startService('all', { ...env, POOL_RUNTIMES: 'bash', SANDBOX_CPUS: String(availableParallelism()) });
  for (const name of wanted('compiled') ? COMPILED : []) {
    const language = languages.find(name)!;
    const body = { language: name, code: helloWorld(name) };
    progress(`compile + run: ${N.compiled} ${name} hello worlds through the API and as many on the host, in turn`);
    // One of each first, untimed: the toolchain's files are then in the page cache for both alike.
    await runOne(compiledService.baseUrl, body);
    await hostCompileAndRun(language, body.code);
    const jobs: Breakdown[] = [];
    const host: HostCompileAndRun[] = [];
    for (let i = 0; i < N.compiled; i++) {
      jobs.push(await runOne(compiledService.baseUrl, body));
      host.push(await hostCompileAndRun(language, body.code));
    }
    for (const p of [50, 95]) {
      rows.push({
        measure: `${name} compile + run of hello world, POST→result, p${p}`,
        value: percentile(jobs.map((b) => b.total), p),
        unit: 'ms',
        baseline: { name: `host compile + run, p${p}`, value: percentile(host.map((h) => h.total), p) },
        target: { op: '≤', ratio: 1.3 },
      });
    }
    rows.push({ measure: '  p50 of: compile in its sandbox', value: percentile(jobs.map((b) => b.compile), 50), unit: 'ms', baseline: { name: 'host compile, p50', value: percentile(host.map((h) => h.compile), 50) } });
    const part = (key: keyof Breakdown) => percentile(jobs.map((b) => b[key]), 50);
    rows.push({ measure: '  p50 of: the program in its sandbox', value: part('sandboxRun'), unit: 'ms', baseline: { name: 'host run, p50', value: percentile(host.map((h) => h.total - h.compile), 50) } });
    rows.push({ measure: '  p50 of: submit and queue wait', value: part('queue'), unit: 'ms' });
    rows.push({ measure: '  p50 of: worker around them', value: part('workerOverhead'), unit: 'ms' });
    rows.push({ measure: '  p50 of: result to client', value: part('resultToClient'), unit: 'ms' });
  }

  if (wanted('test-cases')) await testCaseRows(compiledService.baseUrl, 'c');
  await compiledService.stop();

  if (wanted('intake')) {
    progress(`intake: ${N.intakeSeconds} s of submissions into an API-only process`);
    const api = await startService('api', { ...env, QUEUE_PREFIX: 'bench-intake' });
    const load = await autocannon({
      url: `${api.baseUrl}/v1/executions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(PY),
      connections: 32,
      duration: N.intakeSeconds,
    });
    await api.stop();
    if (load.non2xx > 0 || load.errors > 0) progress(`intake: ${load.non2xx} non-2xx answers, ${load.errors} errors`);
    rows.push({ measure: 'intake: submissions accepted', value: load.requests.average, unit: '/s', target: { op: '≥', absolute: 5000 } });
    rows.push({ measure: 'intake: latency p99', value: load.latency.p99, unit: 'ms', target: { op: '≤', absolute: 25 } });
  }
} finally {
  await redis.destroy();
}

function verdict(row: Row): string {
  if (!row.target) return '';
  const subject = row.target.ratio !== undefined && row.baseline ? row.value / row.baseline.value : row.value;
  const bound = row.target.ratio ?? row.target.absolute!;
  const met = row.target.op === '≤' ? subject <= bound : subject >= bound;
  return `${row.target.op} ${bound}${row.target.ratio !== undefined ? '×' : ''} ${met ? 'met' : 'MISSED'}`;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const table = rows.map((row) => ({
  measure: row.measure,
  value: `${fmt(row.value)} ${row.unit}`,
  baseline: row.baseline ? `${fmt(row.baseline.value)} (${row.baseline.name})` : '',
  ratio: row.baseline ? `${(row.value / row.baseline.value).toFixed(2)}×` : '',
  target: verdict(row),
}));
const widths = Object.keys(table[0]!).map((key) => Math.max(key.length, ...table.map((r) => r[key as keyof typeof r].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
process.stdout.write(`\n${line(Object.keys(table[0]!))}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
for (const r of table) process.stdout.write(`${line(Object.values(r))}\n`);
if (flags.json) {
  writeFileSync(flags.json, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  progress(`wrote ${flags.json}`);
}
