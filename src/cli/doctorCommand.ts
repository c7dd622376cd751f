import { execFileSync } from 'node:child_process';
import type { Config } from '../shared/config.js';
import { languagesFromConfig } from '../shared/languages/languagesFromConfig.js';
import { createLogger } from '../shared/logger.js';
import { localProviderOptions } from '../worker/sandbox/local/localProviderOptions.js';
import { LocalSandboxProvider } from '../worker/sandbox/local/LocalSandboxProvider.js';

const REQUIRED_NAMESPACES = ['user', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'mnt'];

function versionOf(executable: string): string {
  try {
    return execFileSync(executable, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
  } catch {
    return 'version unknown';
  }
}

/**
 * Prints which isolation features the local provider has on this host, by
 * starting it exactly as a worker would. Returns the exit code: non-zero when
 * jobs could not be isolated here.
 */
export async function doctor(config: Config, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const line = (label: string, value: string) => out.write(`  ${label.padEnd(14)}${value}\n`);
  out.write('sandq doctor: local sandbox isolation on this host\n\n');
  let provider: LocalSandboxProvider;
  try {
    provider = await LocalSandboxProvider.start(localProviderOptions(config, createLogger('silent')));
  } catch (error) {
    out.write(`  the local provider cannot start:\n  ${(error as Error).message.replaceAll('\n', '\n  ')}\n\nResult: jobs cannot be isolated on this host.\n`);
    return 1;
  }
  const report = provider.isolation;
  const missing = REQUIRED_NAMESPACES.filter((ns) => !report.namespaces.includes(ns));
  line('bubblewrap', `${report.bwrap} (${versionOf(report.bwrap)})`);
  line('namespaces', missing.length === 0 ? `${report.namespaces.join(', ')}: all unshared` : `NOT unshared: ${missing.join(', ')}`);
  line('identity', report.identity);
  line('seccomp', report.seccomp);
  line('cgroups', report.cgroups);
  line('work dir', report.workDir);
  line('interpreters', (await provider.runtimes()).map((r) => `${r.runtime} ${r.version}`).join(', '));
  const definitions = languagesFromConfig(config).definitions;
  const offered = await provider.languages(definitions);
  const absent = definitions.filter((d) => !offered.some((l) => l.language === d.name)).map((d) => d.name);
  line('languages', `${offered.length} of ${definitions.length} offered: ${offered.map((l) => `${l.language} ${l.version}`).join(', ')}`);
  if (absent.length > 0) line('', `not offered here: ${absent.join(', ')} (\`sandq languages list\` says what is missing)`);
  await provider.close();
  if (report.warnings.length > 0) {
    out.write('\nWarnings:\n');
    for (const warning of report.warnings) out.write(`  - ${warning}\n`);
  }
  if (missing.length > 0) {
    out.write('\nResult: jobs cannot be isolated on this host (namespaces are shared).\n');
    return 1;
  }
  out.write(`\nResult: the local provider isolates jobs on this host${report.warnings.length ? ', with the warnings above' : ''}.\n`);
  return 0;
}
