import type { Config } from '../../shared/config.js';
import { enabledProviders, type ProviderName } from '../../shared/contract/providers.js';
import type { Logger } from '../../shared/logger.js';
import type { RuntimeInfo } from '../../shared/workerRegistry.js';
import type { LanguageRegistry } from '../../shared/languages/LanguageRegistry.js';
import type { E2BWorkerHooks } from './e2b/e2bProviderOptions.js';
import { localProviderOptions } from './local/localProviderOptions.js';
import { LocalSandboxProvider } from './local/LocalSandboxProvider.js';
import { SandboxPool } from './SandboxPool.js';
import type { SandboxProvider } from './SandboxProvider.js';

/** Loaded only where E2B is enabled: the SDK costs ~20 MiB of memory in every worker that imports it. */
async function startE2B(config: Config, logger: Logger, worker: E2BWorkerHooks): Promise<SandboxProvider> {
  const [{ E2BSandboxProvider }, { e2bProviderOptions }] = await Promise.all([
    import('./e2b/E2BSandboxProvider.js'),
    import('./e2b/e2bProviderOptions.js'),
  ]);
  return await E2BSandboxProvider.start(e2bProviderOptions(config, logger, worker));
}

interface Entry {
  provider: SandboxProvider;
  pool: SandboxPool;
}

/**
 * Every provider the deployment enables (see enabledProviders), each with its
 * own warm pool. A worker has them all: executions share one queue, and the
 * processor takes each job's sandbox from the pool of the provider the job
 * names.
 */
export class SandboxProviders {
  private constructor(private readonly entries: ReadonlyMap<ProviderName, Entry>) {}

  static async start(config: Config, logger: Logger, worker: E2BWorkerHooks): Promise<SandboxProviders> {
    const entries = new Map<ProviderName, Entry>();
    try {
      for (const name of enabledProviders(config)) {
        const provider = name === 'local' ? await LocalSandboxProvider.start(localProviderOptions(config, logger)) : await startE2B(config, logger, worker);
        const pool = new SandboxPool(provider, {
          size: name === 'local' ? config.POOL_SIZE : config.E2B_POOL_SIZE,
          runtimes: config.POOL_RUNTIMES,
          maxIdleMs: config.POOL_MAX_IDLE_MS,
          healthIntervalMs: config.POOL_HEALTH_INTERVAL_MS,
          logger,
        });
        entries.set(name, { provider, pool });
      }
    } catch (error) {
      await new SandboxProviders(entries).close();
      throw error;
    }
    return new SandboxProviders(entries);
  }

  get names(): ProviderName[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name as ProviderName);
  }

  /** The pool of the provider a job names; undefined when this worker lacks it. */
  pool(name: string): SandboxPool | undefined {
    return this.entries.get(name as ProviderName)?.pool;
  }

  /** Languages any provider here runs, with each provider's toolchain version. */
  async languages(registry: LanguageRegistry): Promise<RuntimeInfo[]> {
    const found: RuntimeInfo[] = [];
    for (const [name, { provider }] of this.entries) {
      for (const { language, version } of await provider.languages(registry.definitions)) found.push({ language, version, provider: name });
    }
    return found;
  }

  /** Whether the provider a job names runs its language here. */
  async runs(provider: string, language: string, registry: LanguageRegistry): Promise<boolean> {
    const entry = this.entries.get(provider as ProviderName);
    if (!entry) return false;
    return (await entry.provider.languages(registry.definitions)).some((l) => l.language === language);
  }

  warnings(): string[] {
    return [...this.entries.values()].flatMap(({ provider }) => provider.warnings());
  }

  /**
   * Drains each pool and closes its provider. A provider's close starts
   * first: it stops creations that would otherwise hold up the drain
   * (an e2b creation may be waiting out a backoff).
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].map(async ({ provider, pool }) => {
        const closing = provider.close();
        await pool.drain();
        await closing;
      }),
    );
  }
}
