/**
 * One output stream of a case runner, passed on up to a token the runner
 * writes once the case is over: what comes before it is the case's. The
 * last bytes short of a token's length are held back until it is clear
 * they do not begin one, so no part of the token is ever passed on.
 */
export class OutputUntilToken {
  private held = Buffer.alloc(0);
  private found = false;

  constructor(
    private readonly token: Buffer,
    private readonly deliver: (chunk: Buffer) => void,
  ) {}

  /** Whether the token has been seen (then nothing more is passed on). */
  get ended(): boolean {
    return this.found;
  }

  push(chunk: Buffer): void {
    if (this.found) return;
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const at = data.indexOf(this.token);
    if (at >= 0) {
      this.found = true;
      this.held = Buffer.alloc(0);
      if (at > 0) this.deliver(data.subarray(0, at));
      return;
    }
    const keep = Math.min(data.length, this.token.length - 1);
    if (data.length > keep) this.deliver(data.subarray(0, data.length - keep));
    // A copy: the chunk's buffer may be reused by the stream.
    this.held = Buffer.from(data.subarray(data.length - keep));
  }
}
