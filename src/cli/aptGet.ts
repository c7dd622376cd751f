import { spawnSync } from 'node:child_process';
import { findExecutable } from '../shared/findExecutable.js';

/** Whether dpkg has the package installed (not merely known, or removed with its configuration left). */
export function isPackageInstalled(name: string): boolean {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return query.status === 0 && query.stdout === 'install ok installed';
}

/**
 * `apt-get update` and the install of `packages`, asking nothing: as they are
 * for root, otherwise through sudo when there is one. DEBIAN_FRONTEND goes
 * through `env`, since sudo resets the environment.
 */
export function aptGetCommands(packages: readonly string[]): string[][] {
  const prefix = process.getuid?.() === 0 || findExecutable('sudo') === undefined ? [] : ['sudo'];
  return [['update'], ['install', '-y', '--no-install-recommends', ...packages]].map((args) => [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]);
}

/** Runs a command with the terminal as its output; its exit code. */
export function runCommand(argv: readonly string[]): number {
  const [file, ...args] = argv;
  const run = spawnSync(file!, args, { stdio: 'inherit' });
  if (run.error) throw run.error;
  return run.status ?? 1;
}
