import type { Config } from '../config.js';
import type { LanguageDefinition } from '../languages/languageDefinition.js';
import { enabledProviders, type ProviderName } from './providers.js';

/** Resource limits of one execution, every field resolved. */
export interface Limits {
  /** Wall-clock time of the program. */
  timeoutMs: number;
  /** CPU time of all the job's processes together. */
  cpuTimeMs: number;
  memoryMb: number;
  maxProcesses: number;
  maxOutputBytes: number;
  /** Open files per process (RLIMIT_NOFILE). */
  maxOpenFiles: number;
  /** The largest file a process may write (RLIMIT_FSIZE; past it, SIGXFSZ). */
  maxFileBytes: number;
  network: boolean;
}

/** The compile step's own limits (compiled languages only); its processes come from the language. */
export interface CompileLimits {
  /** Wall-clock time of the compile. */
  compileTimeoutMs: number;
  /** Memory of the compile (a compiler often needs more than the program). */
  compileMemoryMb: number;
  /** Not a request field: the language's need, or the run's. */
  compileMaxProcesses: number;
}

/** Every limit a request carries, resolved. */
export type RequestLimits = Limits & CompileLimits;

/** The operator's defaults and maximums for request limits. */
export interface LimitsPolicy {
  defaults: Omit<RequestLimits, 'compileMaxProcesses'>;
  /** No deployment offers network access yet: `network` has no maximum, only `false`. */
  max: Omit<RequestLimits, 'network' | 'compileMaxProcesses'>;
  /** Providers a request may name; unset = local only. */
  providers?: readonly ProviderName[];
  /** The provider of a request that names none. @defaultValue 'local' */
  defaultProvider?: ProviderName;
  /** The most test cases one request may hold. */
  maxTestCases: number;
}

export function limitsPolicyFrom(config: Config): LimitsPolicy {
  return {
    defaults: {
      timeoutMs: config.TIMEOUT_MS_DEFAULT,
      memoryMb: config.MEMORY_MB_DEFAULT,
      maxProcesses: config.MAX_PROCESSES_DEFAULT,
      maxOutputBytes: config.MAX_OUTPUT_BYTES_DEFAULT,
      cpuTimeMs: config.CPU_TIME_MS_DEFAULT,
      maxOpenFiles: config.MAX_OPEN_FILES_DEFAULT,
      maxFileBytes: config.MAX_FILE_BYTES_DEFAULT,
      network: false,
      compileTimeoutMs: config.COMPILE_TIMEOUT_MS_DEFAULT,
      compileMemoryMb: config.COMPILE_MEMORY_MB_DEFAULT,
    },
    max: {
      timeoutMs: config.TIMEOUT_MS_MAX,
      memoryMb: config.MEMORY_MB_MAX,
      maxProcesses: config.MAX_PROCESSES_MAX,
      maxOutputBytes: config.MAX_OUTPUT_BYTES_MAX,
      cpuTimeMs: config.CPU_TIME_MS_MAX,
      maxOpenFiles: config.MAX_OPEN_FILES_MAX,
      maxFileBytes: config.MAX_FILE_BYTES_MAX,
      compileTimeoutMs: config.COMPILE_TIMEOUT_MS_MAX,
      compileMemoryMb: config.COMPILE_MEMORY_MB_MAX,
    },
    providers: enabledProviders(config),
    defaultProvider: config.SANDBOX_PROVIDER,
    maxTestCases: config.MAX_TEST_CASES,
  };
}

/** The limits a request asked for, each one it left out taken from its language's defaults or else the operator's (never above the operator's maximum). */
export function resolveLimits(requested: Partial<Omit<RequestLimits, 'compileMaxProcesses'>>, language: LanguageDefinition, policy: LimitsPolicy): RequestLimits {
  const { defaults, max } = policy;
  const languageDefault = (own: number | undefined, operator: number, most: number) => Math.min(Math.max(own ?? operator, operator), most);
  const maxProcesses = requested.maxProcesses ?? languageDefault(language.limits.maxProcesses, defaults.maxProcesses, max.maxProcesses);
  return {
    timeoutMs: requested.timeoutMs ?? defaults.timeoutMs,
    memoryMb: requested.memoryMb ?? languageDefault(language.limits.memoryMb, defaults.memoryMb, max.memoryMb),
    maxProcesses,
    maxOutputBytes: requested.maxOutputBytes ?? defaults.maxOutputBytes,
    cpuTimeMs: requested.cpuTimeMs ?? defaults.cpuTimeMs,
    maxOpenFiles: requested.maxOpenFiles ?? defaults.maxOpenFiles,
    maxFileBytes: requested.maxFileBytes ?? defaults.maxFileBytes,
    network: requested.network ?? defaults.network,
    compileTimeoutMs: requested.compileTimeoutMs ?? languageDefault(language.limits.compileTimeoutMs, defaults.compileTimeoutMs, max.compileTimeoutMs),
    compileMemoryMb: requested.compileMemoryMb ?? languageDefault(language.limits.compileMemoryMb, defaults.compileMemoryMb, max.compileMemoryMb),
    // Never below the operator's default: a compiler runs several processes (gcc -pipe: gcc, cc1, as) whatever the program may.
    compileMaxProcesses: languageDefault(language.limits.compileMaxProcesses, Math.max(maxProcesses, defaults.maxProcesses), max.maxProcesses),
  };
}
