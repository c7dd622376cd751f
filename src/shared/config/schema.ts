import { z } from 'zod';
import { accessSettings } from './access.js';
import { backpressureSettings } from './backpressure.js';
import { e2bSettings } from './e2b.js';
import { jobSettings } from './jobs.js';
import { COMPILE_LIMIT_PAIRS, languageSettings } from './languages.js';
import { LIMIT_PAIRS, limitSettings } from './limits.js';
import { liveOutputSettings } from './liveOutput.js';
import { localSandboxSettings } from './localSandbox.js';
import { poolSettings } from './pool.js';
import { serverSettings } from './server.js';
import { shutdownSettings } from './shutdown.js';
import { webhookSettings } from './webhooks.js';

/** Every group, in the order the configuration reference shows them. */
export const SETTING_GROUPS = [
  serverSettings,
  accessSettings,
  backpressureSettings,
  jobSettings,
  shutdownSettings,
  limitSettings,
  languageSettings,
  localSandboxSettings,
  poolSettings,
  webhookSettings,
  liveOutputSettings,
  e2bSettings,
] as const;

/** Every setting sandq reads from the environment, with its default; docs/configuration.md is generated from it. */
export const configSchema = z
  .object({
    ...serverSettings.settings,
    ...accessSettings.settings,
    ...backpressureSettings.settings,
    ...jobSettings.settings,
    ...shutdownSettings.settings,
    ...limitSettings.settings,
    ...languageSettings.settings,
    ...localSandboxSettings.settings,
    ...poolSettings.settings,
    ...webhookSettings.settings,
    ...liveOutputSettings.settings,
    ...e2bSettings.settings,
  })
  .superRefine((c, ctx) => {
    for (const [def, max] of [...LIMIT_PAIRS, ...COMPILE_LIMIT_PAIRS]) {
      if (c[def] > c[max]) ctx.addIssue({ code: 'custom', path: [def], message: `must not exceed ${max} (${c[max]})` });
    }
    if (c.SANDBOX_PROVIDER === 'e2b' && !c.E2B_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['SANDBOX_PROVIDER'], message: 'e2b needs E2B_API_KEY' });
    }
    if ((c.ADMIN_USER === undefined) !== (c.ADMIN_PASSWORD === undefined)) {
      const missing = c.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'set ADMIN_USER and ADMIN_PASSWORD together' });
    }
  });

export type Config = z.infer<typeof configSchema>;
