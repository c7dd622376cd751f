import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const localSandboxSettings = settingGroup(
  'Local sandbox',
  'The `local` provider: bubblewrap sandboxes on the worker host ([Security](security.md)).',
  {
    BWRAP_PATH: setting(z.string().min(1).optional(), { shownDefault: '`bwrap` on `PATH`', description: 'The bubblewrap binary.' }),
    SANDBOX_UID_BASE: setting(z.coerce.number().int().min(1000).max(4_000_000_000).default(2_000_000), {
      description: 'When the worker runs as root, each running sandbox gets its own host uid (and gid) from `SANDBOX_UID_BASE` on; pick a range no account or subuid range uses. Workers on one host share it through `SANDBOX_WORK_ROOT`.',
    }),
    SANDBOX_UID_COUNT: setting(positiveInt.max(1_000_000).default(4096), { description: 'How many uids that range has.' }),
    SANDBOX_CPUS: setting(z.coerce.number().positive().max(256).default(1), { unit: 'CPUs', description: 'CPUs one job may use (cgroup CPU quota).' }),
    CASE_RUNNER: setting(z.enum(['auto', 'bash']).default('auto'), {
      description:
        "What runs a submission's test cases in their sandbox: `auto`, Python's runner where the worker has python3 (it resets the sandbox between cases without starting a process, and runs Python cases in a warm interpreter), else bash's; `bash`, the shell's always (a few MiB less in each case's memory figure, a process or two more between cases).",
    }),
    SANDBOX_CGROUP_ROOT: setting(z.string().min(1).default('/sys/fs/cgroup'), { description: 'Where the cgroup hierarchy (v1 or v2, detected) is mounted.' }),
    SANDBOX_WORK_ROOT: setting(z.string().min(1).default(path.join(os.tmpdir(), 'sandq')), {
      shownDefault: '`$TMPDIR/sandq`',
      description: 'Where job work dirs are created, each removed after its job. A root worker mounts a tmpfs here (once per host; it stays for the other workers), so what jobs write there counts against their memory limits.',
    }),
  },
);
