import type { Program, Runtime } from '../SandboxProvider.js';

/**
 * The rules every sandbox keeps about its one program: it runs exactly one,
 * of its own runtime, and its artifacts are read after that run and before
 * the sandbox is destroyed. Breaking one is a fault of the worker, not of the request.
 */
export function checkRunnable(sandbox: { runtime: Runtime; used: boolean; destroyed: boolean }, program: Program): void {
  if (sandbox.used || sandbox.destroyed) throw new Error('a sandbox runs exactly one program');
  if (program.runtime !== sandbox.runtime) throw new Error(`a ${sandbox.runtime} sandbox cannot run a ${program.runtime} program`);
}

export function checkArtifactsReadable(sandbox: { used: boolean; destroyed: boolean }): void {
  if (!sandbox.used || sandbox.destroyed) throw new Error('artifacts are read after the run and before destroy');
}
