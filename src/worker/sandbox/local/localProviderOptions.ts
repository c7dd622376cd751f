import type { Config } from '../../../shared/config.js';
import { limitsPolicyFrom } from '../../../shared/contract/limits.js';
import type { Logger } from '../../../shared/logger.js';
import type { LocalProviderOptions } from './LocalSandboxProvider.js';

/** The local provider's options as the configuration sets them (worker and `sandq doctor` alike). */
export function localProviderOptions(config: Config, logger: Logger): LocalProviderOptions {
  const { max } = limitsPolicyFrom(config);
  return {
    bwrapPath: config.BWRAP_PATH,
    workRoot: config.SANDBOX_WORK_ROOT,
    uidBase: config.SANDBOX_UID_BASE,
    uidCount: config.SANDBOX_UID_COUNT,
    cpusPerJob: config.SANDBOX_CPUS,
    cgroupRoot: config.SANDBOX_CGROUP_ROOT,
    maxLimits: { ...max, network: false },
    logger,
  };
}
