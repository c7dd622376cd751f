import { isUtf8 } from 'node:buffer';
import type { OutputEncoding, StreamEncoding } from '../../shared/contract/execution.js';

/** Output as a result gives it: base64, or text that says whether bytes that were not UTF-8 were replaced. */
export function encodeOutput(bytes: Buffer, encoding: OutputEncoding): { content: string; encoding: StreamEncoding } {
  if (encoding === 'base64') return { content: bytes.toString('base64'), encoding: 'base64' };
  return { content: bytes.toString('utf8'), encoding: isUtf8(bytes) ? 'utf8' : 'utf8-replaced' };
}

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
    return this.bytes().toString('utf8');
  }

  /** What was kept, written as the request asked (see encodeOutput). */
  encoded(encoding: OutputEncoding): { content: string; encoding: StreamEncoding } {
    return encodeOutput(this.bytes(), encoding);
  }

  private bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** One collector per stream, each with the same cap. */
export function outputCollectors(capBytes: number): Record<'stdout' | 'stderr', OutputCollector> {
  return { stdout: new OutputCollector(capBytes), stderr: new OutputCollector(capBytes) };
}
