import { type OutputCollector, outputCollectors } from '../OutputCollector.js';
import type { OutputStream, RunOptions, RunOutcome } from '../SandboxProvider.js';
import type { RunLimit } from '../../../shared/contract/execution.js';
import { assembleOutcome, type ProgramExit, type StopReason } from './runOutcome.js';

/**
 * Watches one program's run, the same way whatever runs it: its output is
 * kept up to the cap and passed on as it arrives; the timeout, the output
 * cap and the abort signal each stop it, and the first of them is what the
 * outcome says. The transport only feeds output in (`take`), kills the
 * program when told (`onStop`), and reports how it ended (`outcome`).
 */
export class RunWatch {
  private readonly output: Record<OutputStream, OutputCollector>;
  private reason: StopReason | undefined;
  private limit: RunLimit | undefined;
  private startedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop('cancelled');

  constructor(
    private readonly options: Pick<RunOptions, 'signal' | 'onOutput' | 'outputEncoding'> & { timeoutMs: number; maxOutputBytes: number },
    /** Kills the program; called once, on the first stop. */
    private readonly onStop: (reason: StopReason) => void,
  ) {
    this.output = outputCollectors(options.maxOutputBytes);
  }

  /** Why the program was stopped, if it was. */
  get stoppedBy(): StopReason | undefined {
    return this.reason;
  }

  /** Starts the job's clock, with the program: the timeout runs from here, and an abort stops it. */
  start(): void {
    this.startedAt = performance.now();
    this.timer = setTimeout(() => this.stop('timed_out'), this.options.timeoutMs);
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.options.signal?.aborted) this.onAbort();
  }

  /** Keeps what fits of a chunk the program wrote and passes it on; past the cap, stops the program. */
  take(stream: OutputStream, chunk: Buffer): void {
    const collector = this.output[stream];
    const kept = collector.push(chunk);
    if (kept.length > 0) this.options.onOutput?.(stream, kept);
    if (collector.truncated) this.stop('output_exceeded');
  }

  /** Stops the program; only the first reason counts. `limit`: the one behind it, when not the reason's own (CPU time for a timeout). */
  stop(reason: StopReason, limit?: RunLimit): void {
    if (this.reason) return;
    this.reason = reason;
    this.limit = limit;
    this.onStop(reason);
  }

  /** The outcome, once the program has ended: the stop's when it was stopped (`exit` is then not needed), else its own `exit`. */
  outcome(exit?: ProgramExit): RunOutcome {
    const durationMs = this.startedAt === undefined ? 0 : Math.round(performance.now() - this.startedAt);
    if (!this.reason && !exit) throw new Error('a program that was not stopped has an exit status');
    const end = this.reason ? { stoppedBy: this.reason } : { exited: exit! };
    const outputEncoding = this.options.outputEncoding ?? 'utf8';
    return assembleOutcome({ end, output: this.output, outputEncoding, durationMs, ...(this.limit ? { limit: this.limit } : {}) });
  }

  /** Clears the timer and the abort listener; call once the program has ended. */
  dispose(): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}
