import { Sandbox, type SandboxInfo } from 'e2b';
import type { Logger } from '../../../shared/logger.js';
import { UnrecoverableProviderError } from '../UnrecoverableProviderError.js';
import { classifyE2BError, describeError } from './classifyE2BError.js';
import { sleep, TokenBucket } from './TokenBucket.js';

/** How the SDK reaches E2B; unset fields fall back to the SDK's own variables. */
export interface E2BConnection {
  apiKey: string;
  domain?: string;
  apiUrl?: string;
  sandboxUrl?: string;
}

export interface E2BControlPlaneOptions {
  connection: E2BConnection;
  requestTimeoutMs: number;
  createRatePerSecond: number;
  logger: Logger;
  /** Called when problem() changes: the key was rejected, or works again. */
  onHealthChange?: () => void;
}

/** Tries per create or kill; faults that persist past them fail the job, which BullMQ retries. */
const ATTEMPTS = 4;
const BACKOFF_MS = { first: 250, max: 4000 };

/**
 * sandq's calls to E2B's API: sandbox creation at a steady rate
 * (E2B_CREATE_RATE_PER_SECOND, so the plan's rate limit is not the error
 * path), retried with backoff on rate limits, busy answers, 5xx and
 * timeouts; listing and killing. Keeps track of whether E2B accepts the key.
 */
export class E2BControlPlane {
  private readonly bucket: TokenBucket;
  private authProblem: string | undefined;

  constructor(private readonly options: E2BControlPlaneOptions) {
    this.bucket = new TokenBucket(options.createRatePerSecond);
  }

  /** Why E2B cannot be used now (it rejected the key), for the operator; undefined when healthy. */
  get problem(): string | undefined {
    return this.authProblem;
  }

  /**
   * A new sandbox. `signal` ends the waits (rate, backoff) but never a
   * request in flight: E2B may have made the sandbox already, and the
   * caller must get it to kill it.
   */
  async create(template: string, settings: { metadata: Record<string, string>; timeoutMs: number }, signal?: AbortSignal): Promise<Sandbox> {
    for (let attempt = 1; ; attempt++) {
      await this.bucket.take(signal);
      try {
        const sandbox = await Sandbox.create(template, {
          ...this.connection(),
          metadata: settings.metadata,
          timeoutMs: settings.timeoutMs,
          // The request's limits.network is always false (the policy refuses true).
          allowInternetAccess: false,
        });
        this.healthy();
        return sandbox;
      } catch (error) {
        const fault = classifyE2BError(error);
        if (fault === 'auth') throw this.unhealthy(error);
        if (fault !== 'transient' || attempt >= ATTEMPTS) {
          throw new Error(`could not create an E2B sandbox (attempt ${attempt}): ${describeError(error)}`, { cause: error });
        }
        const delay = backoff(attempt);
        this.options.logger.warn({ err: error, attempt, retryInMs: delay }, 'E2B sandbox creation failed; retrying');
        await sleep(delay, signal);
      }
    }
  }

  /** Every sandbox whose metadata has all of `metadata`'s pairs. */
  async list(metadata: Record<string, string>): Promise<SandboxInfo[]> {
    const pages = Sandbox.list({ ...this.connection(), query: { metadata } });
    const found: SandboxInfo[] = [];
    try {
      while (pages.hasNext) found.push(...(await pages.nextItems()));
    } catch (error) {
      if (classifyE2BError(error) === 'auth') throw this.unhealthy(error);
      throw error;
    }
    this.healthy();
    return found;
  }

  /** Kills a sandbox; true if it was there. */
  async kill(sandboxId: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Sandbox.kill(sandboxId, this.connection());
      } catch (error) {
        const fault = classifyE2BError(error);
        if (fault === 'gone') return false;
        if (fault === 'auth') throw this.unhealthy(error);
        if (fault !== 'transient' || attempt >= ATTEMPTS) throw error;
        await sleep(backoff(attempt));
      }
    }
  }

  /** Options for the SDK; a sandbox the SDK creates keeps them for its own calls. */
  private connection() {
    const { connection, requestTimeoutMs } = this.options;
    return { ...connection, requestTimeoutMs };
  }

  private healthy(): void {
    if (this.authProblem === undefined) return;
    this.authProblem = undefined;
    this.options.logger.info('E2B accepts the API key again');
    this.options.onHealthChange?.();
  }

  private unhealthy(error: unknown): UnrecoverableProviderError {
    const problem = `e2b: E2B rejected the API key (check E2B_API_KEY): ${describeError(error)}`;
    if (this.authProblem !== problem) {
      this.authProblem = problem;
      this.options.logger.error({ err: error }, 'E2B rejected the API key: e2b executions fail until it is fixed');
      this.options.onHealthChange?.();
    }
    return new UnrecoverableProviderError('provider_auth', 'E2B rejected this deployment\'s API key; an operator must fix E2B_API_KEY');
  }
}

/** 250 ms, 500 ms, 1 s … up to 4 s, each ±20 % so that workers do not retry in step. */
function backoff(attempt: number): number {
  const base = Math.min(BACKOFF_MS.first * 2 ** (attempt - 1), BACKOFF_MS.max);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
