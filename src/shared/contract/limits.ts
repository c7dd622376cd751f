import type { Config } from '../config.js';
import { enabledProviders, type ProviderName } from './providers.js';

/** Resource limits of one execution, every field resolved. */
export interface Limits {
  timeoutMs: number;
  memoryMb: number;
  maxProcesses: number;
  maxOutputBytes: number;
  network: boolean;
}

/** The operator's defaults and maximums for request limits. */
export interface LimitsPolicy {
  defaults: Limits;
  /** No deployment offers network access yet: `network` has no maximum, only `false`. */
  max: Omit<Limits, 'network'>;
  /** Providers a request may name; unset = local only. */
  providers?: readonly ProviderName[];
}

export function limitsPolicyFrom(config: Config): LimitsPolicy {
  return {
    defaults: {
      timeoutMs: config.TIMEOUT_MS_DEFAULT,
      memoryMb: config.MEMORY_MB_DEFAULT,
      maxProcesses: config.MAX_PROCESSES_DEFAULT,
      maxOutputBytes: config.MAX_OUTPUT_BYTES_DEFAULT,
      network: false,
    },
    max: {
      timeoutMs: config.TIMEOUT_MS_MAX,
      memoryMb: config.MEMORY_MB_MAX,
      maxProcesses: config.MAX_PROCESSES_MAX,
      maxOutputBytes: config.MAX_OUTPUT_BYTES_MAX,
    },
    providers: enabledProviders(config),
  };
}
