/**
 * Keeps a stream's output up to a byte cap. Past the cap it keeps nothing
 * more and reports the overflow, so the caller can stop the program.
 */
export class OutputCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly capBytes: number) {}

  /** Returns the part of `chunk` that was kept (empty once the cap is reached). */
  push(chunk: Buffer): Buffer {
    const room = this.capBytes - this.size;
    if (chunk.length > room) this.truncated = true;
    const kept = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
    if (kept.length > 0) {
      this.chunks.push(kept);
      this.size += kept.length;
    }
    return kept;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** One collector per stream, each with the same cap. */
export function outputCollectors(capBytes: number): Record<'stdout' | 'stderr', OutputCollector> {
  return { stdout: new OutputCollector(capBytes), stderr: new OutputCollector(capBytes) };
}
