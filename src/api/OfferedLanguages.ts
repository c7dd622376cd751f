import type { Redis } from 'ioredis';
import type { LanguageRegistry } from '../shared/languages/LanguageRegistry.js';
import { listWorkers, type WorkerAnnouncement } from '../shared/workerRegistry.js';

/** How long one reading of the workers' announcements serves submissions: the intake path must not scan Redis per request. */
const CACHE_MS = 2000;

export interface LanguageListing {
  name: string;
  displayName: string;
  aliases: string[];
  extensions: string[];
  compiled: boolean;
  versions: string[];
  providers: string[];
}

/**
 * Which languages the live workers run, by provider, from their
 * announcements. A submission for a language that no live worker of its
 * provider offers is refused at once, naming what is offered; with no live
 * worker of that provider nothing is refused, as the work waits in the queue.
 */
export class OfferedLanguages {
  private cached: { at: number; workers: Promise<WorkerAnnouncement[]> } | undefined;
  private refreshing = false;

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly languages: LanguageRegistry,
  ) {}

  /**
   * The announcements, read at most once per CACHE_MS. Only the first read
   * is waited for: once there is one, an older one is answered with while
   * the next is read, so no submission waits on that scan.
   */
  private workers(): Promise<WorkerAnnouncement[]> {
    const now = Date.now();
    if (!this.cached) {
      const workers = listWorkers(this.redis, this.queuePrefix);
      this.cached = { at: now, workers };
      workers.catch(() => (this.cached = undefined));
    } else if (now - this.cached.at > CACHE_MS && !this.refreshing) {
      this.refreshing = true;
      listWorkers(this.redis, this.queuePrefix)
        .then((workers) => (this.cached = { at: Date.now(), workers: Promise.resolve(workers) }))
        .catch(() => {})
        .finally(() => (this.refreshing = false));
    }
    return this.cached.workers;
  }

  /**
   * Why a language cannot be run with a provider now, or undefined when some
   * live worker runs it. Only workers of that provider judge: while none is
   * live, the job waits in the queue for one, as a job for any provider does.
   */
  async refusal(language: string, provider: string): Promise<string | undefined> {
    const offered = new Set(
      (await this.workers()).flatMap((w) => w.languages.filter((l) => l.provider === provider).map((l) => l.language)),
    );
    if (offered.size === 0 || offered.has(language)) return undefined;
    return `no live worker runs ${language} with the ${provider} provider (offered: ${[...offered].sort().join(', ')})`;
  }

  /** Every defined language a live worker runs, with its versions and providers (GET /v1/languages). */
  async listing(): Promise<{ items: LanguageListing[]; workers: number }> {
    const workers = await listWorkers(this.redis, this.queuePrefix);
    const found = new Map<string, { versions: Set<string>; providers: Set<string> }>();
    for (const worker of workers) {
      for (const { language, version, provider } of worker.languages) {
        const entry = found.get(language) ?? { versions: new Set(), providers: new Set() };
        entry.versions.add(version);
        entry.providers.add(provider);
        found.set(language, entry);
      }
    }
    const items = this.languages.definitions
      .filter((d) => found.has(d.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((d) => ({
        name: d.name,
        displayName: d.displayName,
        aliases: d.aliases,
        extensions: d.extensions,
        compiled: d.compile !== undefined,
        versions: [...found.get(d.name)!.versions].sort(),
        providers: [...found.get(d.name)!.providers].sort(),
      }));
    return { items, workers: workers.length };
  }
}
