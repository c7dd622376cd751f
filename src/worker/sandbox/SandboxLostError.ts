/**
 * The sandbox ended before its program started (it died while it waited in
 * the pool, just as it was claimed). Nothing of the job ran, so the job may
 * simply be run again in another sandbox.
 */
export class SandboxLostError extends Error {
  constructor(detail: string) {
    super(`the sandbox ended before its program started: ${detail}`);
    this.name = 'SandboxLostError';
  }
}
