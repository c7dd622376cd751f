import type { Response } from 'express';

/** Writes a text/event-stream response; every event's data is one line of JSON. */
export class ServerSentEvents {
  constructor(private readonly res: Response) {}

  open(): void {
    this.res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
  }

  /** `id` lets a reconnecting client resume after this event (Last-Event-ID). */
  send(event: string, data: unknown, id?: string): void {
    this.res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: keeps proxies and load balancers from closing an idle stream. */
  comment(text: string): void {
    this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
