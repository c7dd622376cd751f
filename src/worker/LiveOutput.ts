import { StringDecoder } from 'node:string_decoder';
import type { ExecutionEvents } from '../executions/ExecutionEvents.js';
import type { TestCaseResult } from '../shared/contract/testCases.js';
import type { Logger } from '../shared/logger.js';
import type { OutputStream } from './sandbox/SandboxProvider.js';

/**
 * Relays a running program's output to its live stream as it is written,
 * and each test case's row as the case ends.
 * Chunks arrive as bytes cut anywhere; a decoder per stream holds back a
 * character split between two chunks. Best effort: the stored result, not
 * this stream, is the record, so a failed append is logged and dropped.
 */
export class LiveOutput {
  private readonly decoders = new Map<string, Record<OutputStream, StringDecoder>>();

  constructor(
    private readonly events: ExecutionEvents,
    private readonly logger: Logger,
  ) {}

  write(executionId: string, stream: OutputStream, chunk: Buffer): void {
    let decoders = this.decoders.get(executionId);
    if (!decoders) {
      decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
      this.decoders.set(executionId, decoders);
    }
    this.send(executionId, stream, decoders[stream].write(chunk));
  }

  /** Sends what a decoder still holds and forgets the execution. */
  finish(executionId: string): void {
    const decoders = this.decoders.get(executionId);
    if (!decoders) return;
    this.decoders.delete(executionId);
    this.send(executionId, 'stdout', decoders.stdout.end());
    this.send(executionId, 'stderr', decoders.stderr.end());
  }

  testCase(executionId: string, index: number, row: TestCaseResult): void {
    // On the same connection as the output: a case's row follows what was written before it.
    this.events.testCase(executionId, JSON.stringify({ index, ...row })).catch((error: unknown) => {
      this.logger.debug({ executionId, err: error }, 'live test case row dropped');
    });
  }

  private send(executionId: string, stream: OutputStream, text: string): void {
    if (!text) return;
    // Appends share one connection, so they reach Redis in the order they were written.
    this.events.output(executionId, stream, text).catch((error: unknown) => {
      this.logger.debug({ executionId, err: error }, 'live output dropped');
    });
  }
}
