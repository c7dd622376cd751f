import type { Config } from '../../../shared/config.js';
import { limitsPolicyFrom } from '../../../shared/contract/limits.js';
import type { Logger } from '../../../shared/logger.js';
import { languagesFromConfig } from '../../../shared/languages/languagesFromConfig.js';
import type { LocalProviderOptions } from './LocalSandboxProvider.js';

/** The local provider's options as the configuration sets them (worker and `sandq doctor` alike). */
export function localProviderOptions(config: Config, logger: Logger): LocalProviderOptions {
  const { defaults, max } = limitsPolicyFrom(config);
  return {
    bwrapPath: config.BWRAP_PATH,
    workRoot: config.SANDBOX_WORK_ROOT,
    uidBase: config.SANDBOX_UID_BASE,
    uidCount: config.SANDBOX_UID_COUNT,
    cpusPerJob: config.SANDBOX_CPUS,
    cgroupRoot: config.SANDBOX_CGROUP_ROOT,
    caseRunner: config.CASE_RUNNER,
    // A warm shell may serve a compile as well as a program: it starts with room for the larger of the two.
    // Open files and file size are rlimits, fixed when a sandbox starts: a pooled one has the defaults,
    // and a job asking for others gets a sandbox started for it.
    poolLimits: {
      timeoutMs: Math.max(max.timeoutMs, max.compileTimeoutMs),
      cpuTimeMs: Math.max(max.cpuTimeMs, max.compileTimeoutMs),
      memoryMb: Math.max(max.memoryMb, max.compileMemoryMb),
      maxProcesses: max.maxProcesses,
      maxOutputBytes: max.maxOutputBytes,
      maxOpenFiles: defaults.maxOpenFiles,
      maxFileBytes: defaults.maxFileBytes,
      network: false,
    },
    logger,
    languages: languagesFromConfig(config).definitions,
  };
}
