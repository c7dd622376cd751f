/** One server-sent event, or a comment line (`event` '(comment)'), with when it arrived. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
  at: number;
}

/**
 * A minimal text/event-stream client over fetch that records every event and
 * comment as it arrives, so tests can wait for one and look at the time.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly ended: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private finished = false;

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {
    this.ended = this.read().finally(() => {
      this.finished = true;
      this.wake();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (response.status !== 200) throw new Error(`events answered ${response.status}: ${await response.text()}`);
    return new SseClient(response, abort);
  }

  get isEnded(): boolean {
    return this.finished;
  }

  /** Events (not comments) received so far. */
  named(event?: string): SseEvent[] {
    return this.events.filter((e) => e.event !== '(comment)' && (event === undefined || e.event === event));
  }

  /** Waits for the first event (from the start) that matches. */
  async waitFor(match: (e: SseEvent) => boolean, timeoutMs = 20_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (this.finished) throw new Error(`the stream ended without the event; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.wake();
      }
    } catch {
      // closed by the test
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.events.push({ event: '(comment)', data: line.slice(1).trim(), id: undefined, at: Date.now() });
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n'), id, at: Date.now() });
  }
}
