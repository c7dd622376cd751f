/** A program sandq needs on this host (redis-server, bwrap) is not installed. */
export class MissingPrerequisiteError extends Error {
  constructor(
    readonly program: string,
    readonly howToInstall: string,
  ) {
    super(`${program} was not found on PATH. ${howToInstall}`);
    this.name = 'MissingPrerequisiteError';
  }
}
