/**
 * Whether no process has this pid (signal 0 probes without signalling).
 * EPERM means it exists under another uid: not gone.
 */
export function isProcessGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
