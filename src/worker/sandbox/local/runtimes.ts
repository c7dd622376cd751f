import { realpathSync } from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../../../shared/findExecutable.js';
import type { Runtime } from '../SandboxProvider.js';
import { INTERPRETERS, RUNTIMES } from '../common/interpreters.js';

export interface RuntimeCommand {
  runtime: Runtime;
  /** Absolute path as seen both on the host and inside the sandbox (it lives under /usr). */
  executable: string;
  versionArgs: readonly string[];
}

/**
 * Only directories the sandbox mounts are searched: an interpreter under
 * /root/.pyenv or /home would not exist inside the sandbox.
 */
const SANDBOX_VISIBLE_PATH = ['/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);

function locate(name: string): string | undefined {
  const found = findExecutable(name, SANDBOX_VISIBLE_PATH);
  if (!found) return undefined;
  const real = realpathSync(found);
  return real.startsWith('/usr/') ? found : undefined;
}

/** Finds python3, node and bash where the sandbox can see them; missing ones are left out. */
export function locateRuntimes(): RuntimeCommand[] {
  return RUNTIMES.flatMap((runtime) => {
    const { name, versionArgs } = INTERPRETERS[runtime];
    const executable = locate(name);
    return executable ? [{ runtime, executable, versionArgs }] : [];
  });
}
