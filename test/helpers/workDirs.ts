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

/** The entries of the workers' directories of `pid` whose names start with `prefix`. */
function entriesOf(workRoot: string, pid: number, prefix: string): string[] {
  return workerDirectoriesOf(workRoot, pid).flatMap((dir) =>
    existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith(prefix)).map((name) => path.join(dir, name)) : [],
  );
}

/** The job work dirs (`j…`) that the workers of `pid` hold now. */
export function jobWorkDirsOf(workRoot: string, pid = process.pid): string[] {
  return entriesOf(workRoot, pid, 'j');
}

/** The sandboxes' spec dirs (`s…`: the launcher's spec and the job's stdin) that the workers of `pid` hold now. */
export function specDirsOf(workRoot: string, pid = process.pid): string[] {
  return entriesOf(workRoot, pid, 's');
}
