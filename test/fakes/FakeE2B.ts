import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CONNECT_STATUS, type ConnectCode, END_STREAM, firstMessage, frame } from './connectJson.js';
import { FakeSandbox, type FakeSandboxSpec } from './FakeSandbox.js';

/** What a running E2B sandbox's envd reports; the SDK picks its features by it (0.5.7: closeStdin, octet-stream uploads). */
const ENVD_VERSION = '0.5.7';

/** Go's names for signals, as envd's end event spells them ("signal: killed"). */
const GO_SIGNAL_NAMES: Record<string, string> = {
  SIGHUP: 'hangup', SIGINT: 'interrupt', SIGQUIT: 'quit', SIGABRT: 'aborted', SIGKILL: 'killed',
  SIGSEGV: 'segmentation fault', SIGPIPE: 'broken pipe', SIGALRM: 'alarm clock', SIGTERM: 'terminated',
  SIGUSR1: 'user defined signal 1', SIGUSR2: 'user defined signal 2',
};

/** The plan's limits the fake enforces like E2B does (429 beyond them). */
export interface FakePlan {
  maxConcurrentSandboxes: number;
}

export interface FakeSandboxInfo {
  id: string;
  metadata: Record<string, string>;
  startedAt: number;
  alive: boolean;
}

/**
 * A protocol-level fake of E2B for tests: one HTTP server on 127.0.0.1 that
 * the real `e2b` SDK reaches through its apiUrl (the control plane: create,
 * list, kill, set timeout) and sandboxUrl (envd, told apart by the
 * E2b-Sandbox-Id header: files over HTTP and processes over Connect RPC with
 * the JSON codec). Commands really run, on this host, in a temporary
 * directory per sandbox (see FakeSandbox).
 *
 * Faults to inject: `failCreates` (the next creates answer these statuses,
 * e.g. 429, 500, 503), `createDelays` (slow creation), `rejectAuth` (401 on
 * every control-plane call), `vanishNextRun` (the next command's sandbox
 * disappears while it runs). It counts creates, concurrent creates and live
 * sandboxes, and enforces the plan's concurrency limit with a 429.
 */
export class FakeE2B {
  readonly apiKey = `e2b_fake_${randomBytes(8).toString('hex')}`;
  readonly sandboxes = new Map<string, FakeSandbox>();
  /** Every sandbox ever created or seeded, killed ones included. */
  readonly history: FakeSandbox[] = [];
  /** Every create request: when it arrived, when it was answered, the answer and the sandbox made. */
  readonly creates: { at: number; answeredAt: number; status: number; id?: string }[] = [];
  /** Sandbox ids in the order they were killed, and why. */
  readonly kills: { id: string; by: 'api' | 'expiry' | 'vanish' }[] = [];
  /** Every control-plane request and its answer's status. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  /** Set-timeout calls per sandbox id. */
  readonly timeoutCalls = new Map<string, number>();
  maxConcurrentCreates = 0;
  maxLiveSandboxes = 0;
  /** The most sandboxes alive and being created at once: what a client must keep under the plan's cap. */
  maxLiveOrCreating = 0;

  failCreates: number[] = [];
  /** The next creates answer only after these delays (ms), one each. */
  createDelays: number[] = [];
  rejectAuth = false;
  vanishNextRun: { afterMs: number } | undefined;

  private createsInFlight = 0;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly plan: FakePlan,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(plan: FakePlan = { maxConcurrentSandboxes: 100 }): Promise<FakeE2B> {
    const server = http.createServer();
    const fake = new FakeE2B(server, plan);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      fake.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, { code: 500, message: (error as Error).message });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Environment for sandq that points the real SDK at this fake. */
  env(): Record<string, string> {
    return { E2B_API_KEY: this.apiKey, E2B_API_URL: this.url, E2B_SANDBOX_URL: this.url };
  }

  /** Sandboxes alive now. */
  live(): FakeSandboxInfo[] {
    return [...this.sandboxes.values()].map(info);
  }

  all(): FakeSandboxInfo[] {
    return this.history.map(info);
  }

  /** A sandbox made outside the SDK, e.g. one a crashed worker left behind. */
  async seed(metadata: Record<string, string>, startedAt = Date.now()): Promise<string> {
    const sandbox = await this.createSandbox({ templateID: 'base', metadata, envVars: {}, timeoutMs: 3_600_000, startedAt });
    return sandbox.id;
  }

  /** E2B ends a sandbox by itself (its timeout ran out, the host failed). */
  async expire(sandboxId: string): Promise<void> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox) await this.kill(sandbox, 'expiry');
  }

  async close(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((s) => s.kill()));
    this.sandboxes.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const sandboxId = req.headers['e2b-sandbox-id'];
    if (typeof sandboxId === 'string') return await this.envd(sandboxId, req, res, url, body);
    res.once('finish', () => this.requests.push({ method: req.method ?? 'GET', path: url.pathname, status: res.statusCode }));
    return await this.controlPlane(req, res, url, body);
  }

  // ---- control plane ---------------------------------------------------------------------------

  private async controlPlane(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    if (this.rejectAuth || req.headers['x-api-key'] !== this.apiKey) return json(res, 401, { code: 401, message: 'Invalid API key' });
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean);
    if (method === 'POST' && (url.pathname === '/sandboxes' || url.pathname === '/v2/sandboxes')) return await this.create(res, JSON.parse(body.toString() || '{}'));
    if (method === 'GET' && (url.pathname === '/sandboxes' || url.pathname === '/v2/sandboxes')) return this.list(res, url);
    if (parts[0] === 'sandboxes' && parts[1]) {
      const sandbox = this.sandboxes.get(parts[1]);
      if (!sandbox) return json(res, 404, { code: 404, message: `sandbox "${parts[1]}" doesn't exist or you don't have access to it` });
      if (method === 'DELETE' && parts.length === 2) {
        await this.kill(sandbox, 'api');
        res.writeHead(204).end();
        return;
      }
      if (method === 'POST' && parts[2] === 'timeout') {
        const { timeout } = JSON.parse(body.toString()) as { timeout: number };
        sandbox.setTimeout(timeout * 1000);
        this.timeoutCalls.set(sandbox.id, (this.timeoutCalls.get(sandbox.id) ?? 0) + 1);
        res.writeHead(204).end();
        return;
      }
      if (method === 'GET' && parts.length === 2) return json(res, 200, listed(sandbox));
    }
    json(res, 404, { code: 404, message: `no route ${method} ${url.pathname}` });
  }

  private async create(res: http.ServerResponse, body: { templateID?: string; metadata?: Record<string, string>; envVars?: Record<string, string>; timeout?: number }): Promise<void> {
    this.createsInFlight++;
    this.maxConcurrentCreates = Math.max(this.maxConcurrentCreates, this.createsInFlight);
    this.maxLiveOrCreating = Math.max(this.maxLiveOrCreating, this.sandboxes.size + this.createsInFlight);
    const at = Date.now();
    try {
      const delay = this.createDelays.shift() ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const fault = this.failCreates.shift();
      if (fault !== undefined) {
        this.creates.push({ at, answeredAt: Date.now(), status: fault });
        return json(res, fault, { code: fault, message: fault === 429 ? 'Rate limit exceeded' : 'injected fault' });
      }
      if (this.sandboxes.size >= this.plan.maxConcurrentSandboxes) {
        this.creates.push({ at, answeredAt: Date.now(), status: 429 });
        return json(res, 429, { code: 429, message: `You have reached the maximum number of concurrent E2B sandboxes (${this.plan.maxConcurrentSandboxes})` });
      }
      const sandbox = await this.createSandbox({
        templateID: body.templateID ?? 'base',
        metadata: body.metadata ?? {},
        envVars: body.envVars ?? {},
        timeoutMs: (body.timeout ?? 300) * 1000,
      });
      this.creates.push({ at, answeredAt: Date.now(), status: 201, id: sandbox.id });
      json(res, 201, {
        sandboxID: sandbox.id,
        templateID: sandbox.spec.templateID,
        clientID: 'fake',
        envdVersion: ENVD_VERSION,
        envdAccessToken: sandbox.accessToken,
        domain: null,
      });
    } finally {
      this.createsInFlight--;
    }
  }

  private async createSandbox(spec: FakeSandboxSpec): Promise<FakeSandbox> {
    const sandbox = await FakeSandbox.create(spec, (expired) => void this.kill(expired, 'expiry'));
    this.sandboxes.set(sandbox.id, sandbox);
    this.history.push(sandbox);
    this.maxLiveSandboxes = Math.max(this.maxLiveSandboxes, this.sandboxes.size);
    this.maxLiveOrCreating = Math.max(this.maxLiveOrCreating, this.sandboxes.size + this.createsInFlight - 1);
    return sandbox;
  }

  /** GET /v2/sandboxes?metadata=<url-encoded k=v&…>: every filter pair must match. */
  private list(res: http.ServerResponse, url: URL): void {
    const wanted = [...new URLSearchParams(url.searchParams.get('metadata') ?? '')].map(([k, v]) => [decodeURIComponent(k), decodeURIComponent(v)]);
    const matching = [...this.sandboxes.values()].filter((s) => wanted.every(([k, v]) => s.spec.metadata[k!] === v));
    json(res, 200, matching.map(listed));
  }

  private async kill(sandbox: FakeSandbox, by: 'api' | 'expiry' | 'vanish'): Promise<void> {
    if (!this.sandboxes.delete(sandbox.id)) return;
    this.kills.push({ id: sandbox.id, by });
    await sandbox.kill();
  }

  // ---- envd ------------------------------------------------------------------------------------

  private async envd(sandboxId: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    const sandbox = this.sandboxes.get(sandboxId);
    // What E2B's edge answers for a sandbox that is gone.
    if (!sandbox) return json(res, 502, { sandboxId, message: 'The sandbox was not found', code: 502 });
    if (url.pathname === '/health') {
      res.writeHead(204).end();
      return;
    }
    if (req.headers['x-access-token'] !== sandbox.accessToken) return json(res, 401, { code: 401, message: 'invalid access token' });
    if (url.pathname === '/files' && req.method === 'POST') return await this.writeFiles(sandbox, req, res, url, body);
    if (url.pathname === '/files' && req.method === 'GET') return await this.readFile(sandbox, res, url);
    if (url.pathname === '/process.Process/Start') return this.startProcess(sandbox, req, res, firstMessage(body) as StartRequest);
    if (url.pathname === '/process.Process/SendSignal') {
      const { process: selector } = JSON.parse(body.toString()) as { process: { pid: number } };
      if (!sandbox.signal(selector.pid)) return connectError(res, 'not_found', `process with pid ${selector.pid} not found`);
      return json(res, 200, {});
    }
    connectError(res, 'unimplemented', `${url.pathname} is not implemented by the fake`);
  }

  /** POST /files: multipart, one `file` part per file; the part's filename is the path unless ?path= names it. */
  private async writeFiles(sandbox: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const written: { name: string; type: 'file'; path: string }[] = [];
    for (const part of form.getAll('file')) {
      if (typeof part === 'string') continue;
      const target = url.searchParams.get('path') ?? part.name;
      const host = sandbox.hostPath(target);
      await mkdir(path.dirname(host), { recursive: true });
      await writeFile(host, Buffer.from(await part.arrayBuffer()));
      written.push({ name: path.posix.basename(target), type: 'file', path: path.posix.resolve('/home/user', target) });
    }
    json(res, 200, written);
  }

  private async readFile(sandbox: FakeSandbox, res: http.ServerResponse, url: URL): Promise<void> {
    const target = url.searchParams.get('path') ?? '';
    let content: Buffer;
    try {
      content = await readFile(sandbox.hostPath(target));
    } catch {
      return json(res, 404, { code: 404, message: `path '${target}' does not exist` });
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': content.length }).end(content);
  }

  /** Server-streaming Start: start {pid}, data chunks (base64), end {exitCode, exited, status}, then END_STREAM. */
  private startProcess(sandbox: FakeSandbox, req: http.IncomingMessage, res: http.ServerResponse, request: StartRequest): void {
    res.writeHead(200, { 'content-type': 'application/connect+json' });
    const send = (message: unknown, flags = 0) => {
      if (!res.destroyed) res.write(frame(message, flags));
    };
    const { cmd, args = [], envs = {}, cwd } = request.process;
    const child = sandbox.spawn(cmd, args, envs, cwd, request.stdin ?? false);
    child.once('error', (error) => {
      send({ error: { code: 'internal', message: `failed to start the process: ${error.message}` } }, END_STREAM);
      res.end();
    });
    if (child.pid === undefined) return;
    send({ event: { start: { pid: child.pid } } });
    child.stdout!.on('data', (chunk: Buffer) => send({ event: { data: { stdout: chunk.toString('base64') } } }));
    child.stderr!.on('data', (chunk: Buffer) => send({ event: { data: { stderr: chunk.toString('base64') } } }));
    child.once('close', (code, signal) => {
      // As envd reports it: Go's ProcessState (exit code -1 for a signal), and Wait's error unless the exit was 0.
      const status = signal ? `signal: ${GO_SIGNAL_NAMES[signal] ?? signal}` : `exit status ${code ?? 0}`;
      const end = signal
        ? { exitCode: -1, exited: false, status, error: status }
        : { exitCode: code ?? 0, exited: true, status, ...(code ? { error: status } : {}) };
      send({ event: { end } });
      send({}, END_STREAM);
      res.end();
    });

    const vanish = this.vanishNextRun;
    if (vanish) {
      this.vanishNextRun = undefined;
      // The VM is gone: its processes die with it and the connection drops mid-stream.
      setTimeout(() => {
        req.socket.destroy();
        void this.kill(sandbox, 'vanish');
      }, vanish.afterMs).unref();
    }
  }
}

interface StartRequest {
  process: { cmd: string; args?: string[]; envs?: Record<string, string>; cwd?: string };
  stdin?: boolean;
}

function info(sandbox: FakeSandbox): FakeSandboxInfo {
  return { id: sandbox.id, metadata: sandbox.spec.metadata, startedAt: sandbox.startedAt, alive: sandbox.alive };
}

function listed(sandbox: FakeSandbox) {
  return {
    sandboxID: sandbox.id,
    templateID: sandbox.spec.templateID,
    clientID: 'fake',
    startedAt: new Date(sandbox.startedAt).toISOString(),
    endAt: new Date(sandbox.endAt).toISOString(),
    cpuCount: 2,
    memoryMB: 512,
    diskSizeMB: 1024,
    envdVersion: ENVD_VERSION,
    metadata: sandbox.spec.metadata,
    state: 'running',
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function connectError(res: http.ServerResponse, code: ConnectCode, message: string): void {
  json(res, CONNECT_STATUS[code], { code, message });
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
