import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The worker directories under a work root whose owner record names `pid` (see WorkerDirectory). */
export function workerDirectoriesOf(workRoot: string, pid = process.pid): string[] {
  const records = path.join(workRoot, '.workers');
  if (!existsSync(records)) return [];
  return readdirSync(records)
    .filter((name) => readFileSync(path.join(records, name), 'utf8') === String(pid))
    .map((name) => path.join(workRoot, name));
}

/** The job work dirs that the workers of `pid` hold now. */
export function jobWorkDirsOf(workRoot: string, pid = process.pid): string[] {
  return workerDirectoriesOf(workRoot, pid).flatMap((dir) => (existsSync(dir) ? readdirSync(dir).map((name) => path.join(dir, name)) : []));
}
