import { randomBytes } from 'node:crypto';
import type { OutputStream, RunOutcome } from '../SandboxProvider.js';
import { RunWatch } from '../common/RunWatch.js';
import { type BwrapProcess, type BwrapRunInput, programExit } from './BwrapProcess.js';
import { RUNNER_SAYS } from './caseRunnerScript.js';
import { OutputUntilToken } from './OutputUntilToken.js';

/** How long a reset of the sandbox between two cases may take before the runner is killed (and another started). */
const RESET_TIMEOUT_MS = 20_000;

/** How a reset of the sandbox state between cases ended. */
export type ResetResult = 'ready' | 'failed' | 'gone';

/**
 * The worker's side of a case runner (caseRunnerScript.ts): one sandbox in
 * which a submission's test cases run one after another. Each case is
 * watched as a one-program sandbox's run is (RunWatch: timeout, output cap,
 * abort); any stop kills the whole runner, and the caller starts another
 * for the cases left.
 */
export class CaseRunner {
  private watch: RunWatch | undefined;
  private pending = '';
  private resetAsked = false;
  private resetResult: Exclude<ResetResult, 'gone'> | undefined;
  private caseStarted = false;
  private caseStatus: number | undefined;
  private readonly waiters = new Set<() => void>();
  /** Whether the runner's sandbox has ended (its pipes drained). */
  private gone = false;

  constructor(private readonly bwrap: BwrapProcess) {
    bwrap.onControl((text) => this.parse(text));
    // One listener for the runner's end, whatever waits: a wait per case would each keep its case's output until then.
    const ended = () => {
      this.gone = true;
      this.wake();
    };
    bwrap.ended.then(ended, ended);
  }

  get alive(): boolean {
    return this.bwrap.alive;
  }

  /** Whether the current case's launcher took its job. */
  get started(): boolean {
    return this.caseStarted;
  }

  /**
   * Makes the sandbox state fresh for the next case. The runner is asked
   * for it as soon as the case before is measured (its onEnd), for the
   * reset's own work is in the same cgroup.
   */
  async reset(): Promise<ResetResult> {
    this.askReset();
    // No case's clock runs during a reset: one that does not end (a tree too large to remove soon) ends the runner.
    const deadline = setTimeout(() => this.bwrap.killNow(), RESET_TIMEOUT_MS);
    deadline.unref();
    try {
      const done = await this.until(() => this.resetResult !== undefined);
      return done ? this.resetResult! : 'gone';
    } finally {
      clearTimeout(deadline);
      this.resetAsked = false;
    }
  }

  /** Runs one case on a fresh state (after reset), its spec already in the spec dir, and watches it to its end. */
  async run(input: BwrapRunInput): Promise<RunOutcome> {
    const token = Buffer.from(randomBytes(16).toString('hex'));
    const watch = new RunWatch(input, () => this.bwrap.killNow());
    this.watch = watch;
    this.caseStarted = false;
    this.caseStatus = undefined;
    const streams: Record<OutputStream, OutputUntilToken> = {
      stdout: new OutputUntilToken(token, (chunk) => watch.take('stdout', chunk)),
      stderr: new OutputUntilToken(token, (chunk) => watch.take('stderr', chunk)),
    };
    this.bwrap.route((stream, chunk) => {
      streams[stream].push(chunk);
      this.wake();
    });
    // onEnd once, however the case ends; when it is over, in the same tick as the runner's last word, then the reset.
    let ended = false;
    let endFailure: unknown;
    const end = () => {
      if (ended) return;
      ended = true;
      try {
        input.onEnd?.();
      } catch (error) {
        endFailure = error;
      }
    };
    watch.start();
    this.bwrap.send(`go ${token.toString()}\n`);
    try {
      const over = await this.until(
        () => this.caseStatus !== undefined && streams.stdout.ended && streams.stderr.ended,
        () => {
          if (watch.stoppedBy) return;
          end();
          this.askReset();
        },
      );
      if (watch.stoppedBy || !over) await this.bwrap.ended;
      end();
      if (endFailure) throw endFailure;
      if (watch.stoppedBy) return watch.outcome();
      // The runner itself ended (the kernel's OOM killer may have picked it): its end is the case's.
      if (!over) return watch.outcome(programExit(...(await this.bwrap.ended)));
      return watch.outcome(programExit(this.caseStatus!, null));
    } finally {
      watch.dispose();
      this.watch = undefined;
      this.bwrap.route(undefined);
    }
  }

  /** Stops the current case for its CPU time: it ends `timed_out`, by `cpuTimeMs`. */
  stopForCpuTime(): void {
    if (this.watch && !this.watch.stoppedBy) this.watch.stop('timed_out', 'cpuTimeMs');
  }

  preludeText(): string {
    return this.bwrap.preludeText();
  }

  /** Kills the runner and waits until it is gone. */
  async stop(): Promise<void> {
    await this.bwrap.stop();
  }

  /** Reads the runner's reports (RUNNER_SAYS), which may arrive split. */
  private parse(text: string): void {
    this.pending += text;
    while (this.pending.length > 0) {
      const kind = this.pending[0];
      if (kind === RUNNER_SAYS.status) {
        const end = this.pending.indexOf(';');
        if (end < 0) break;
        this.caseStatus = Number(this.pending.slice(1, end));
        this.pending = this.pending.slice(end + 1);
        continue;
      }
      if (kind === RUNNER_SAYS.ready) this.resetResult = 'ready';
      else if (kind === RUNNER_SAYS.resetFailed) this.resetResult = 'failed';
      else if (kind === RUNNER_SAYS.started) this.caseStarted = true;
      this.pending = this.pending.slice(1);
    }
    this.wake();
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }

  private askReset(): void {
    if (this.resetAsked) return;
    this.resetResult = undefined;
    this.bwrap.send('reset\n');
    this.resetAsked = true;
  }

  /** Resolves true once `condition` holds (calling `met` at once, in the tick that made it so), false if the runner ends first. */
  private until(condition: () => boolean, met?: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) {
          this.waiters.delete(check);
          met?.();
          resolve(true);
        } else if (this.gone) {
          this.waiters.delete(check);
          resolve(false);
        }
      };
      this.waiters.add(check);
      check();
    });
  }
}
