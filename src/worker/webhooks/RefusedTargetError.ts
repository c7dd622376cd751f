/** The webhook URL leads somewhere this deployment does not deliver to; retrying cannot help. */
export class RefusedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedTargetError';
  }
}
