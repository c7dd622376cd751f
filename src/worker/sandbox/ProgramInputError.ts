/**
 * What the request asked the sandbox to hold cannot be laid out there (a
 * path the filesystem refuses, no room left): the user's input is at fault,
 * not the service, so the execution ends `failed` with this message and is
 * never retried. The message names only the request's own paths.
 */
export class ProgramInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgramInputError';
  }
}
