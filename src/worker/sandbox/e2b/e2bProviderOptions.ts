import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { E2BProviderOptions } from './E2BSandboxProvider.js';

/** What the e2b provider needs from the worker around it. */
export interface E2BWorkerHooks {
  workerId: string;
  liveWorkers: () => Promise<ReadonlySet<string>>;
  onHealthChange?: () => void;
}

/** The e2b provider's options as the configuration sets them. */
export function e2bProviderOptions(config: Config, logger: Logger, worker: E2BWorkerHooks): E2BProviderOptions {
  if (!config.E2B_API_KEY) throw new Error('the e2b provider needs E2B_API_KEY');
  return {
    connection: {
      apiKey: config.E2B_API_KEY,
      domain: config.E2B_DOMAIN,
      apiUrl: config.E2B_API_URL,
      sandboxUrl: config.E2B_SANDBOX_URL,
    },
    template: config.E2B_TEMPLATE,
    idleLifetimeMs: config.E2B_SANDBOX_TIMEOUT_MS,
    requestTimeoutMs: config.E2B_REQUEST_TIMEOUT_MS,
    createRatePerSecond: config.E2B_CREATE_RATE_PER_SECOND,
    maxConcurrentSandboxes: config.E2B_MAX_CONCURRENT_SANDBOXES,
    sweepIntervalMs: config.E2B_SWEEP_INTERVAL_MS,
    deploymentName: config.DEPLOYMENT_NAME,
    workerId: worker.workerId,
    liveWorkers: worker.liveWorkers,
    onHealthChange: worker.onHealthChange,
    logger: logger.child({ provider: 'e2b' }),
  };
}
