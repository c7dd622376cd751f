import type { Limits } from '../../../shared/contract/limits.js';
import type { Runtime } from '../SandboxProvider.js';

const MiB = 1024 * 1024;

export interface RlimitContext {
  /** The job's cgroup enforces memory; otherwise an address-space rlimit stands in where it can. */
  memoryByCgroup: boolean;
  /** The job's cgroup enforces the process count; otherwise RLIMIT_NPROC on its own uid does. */
  pidsByCgroup: boolean;
  runtime: Runtime;
}

/**
 * prlimit flags applied to bwrap and so to everything in the sandbox: no core
 * dumps, the job's file-size and descriptor caps, CPU time per process (a
 * backstop: the job's cgroup counts all its processes together, see
 * LocalSandbox); and when there are no cgroups, the rlimit stand-ins. Node is
 * never given RLIMIT_AS: it reserves far more address space than it uses and
 * cannot start under ~800 MB.
 */
export function rlimitFlags(limits: Limits, context: RlimitContext): string[] {
  // RLIMIT_CPU is in whole seconds: SIGXCPU at the soft limit, SIGKILL a second later.
  const cpuSeconds = Math.ceil(limits.cpuTimeMs / 1000);
  const flags = ['--core=0', `--fsize=${limits.maxFileBytes}`, `--nofile=${limits.maxOpenFiles}`, `--cpu=${cpuSeconds}:${cpuSeconds + 1}`];
  // bwrap itself and its init count too: a little headroom over the user's number.
  if (!context.pidsByCgroup) flags.push(`--nproc=${limits.maxProcesses + 4}`);
  if (!context.memoryByCgroup && context.runtime !== 'node') flags.push(`--as=${(limits.memoryMb + 64) * MiB}`);
  return flags;
}
