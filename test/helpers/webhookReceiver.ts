import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Answer only after this long (to outlast the sender's timeout). */
  delayMs?: number;
}

/** A real HTTP server on loopback that records what it receives and answers as the test says. */
export class WebhookReceiver {
  private constructor(
    private readonly server: http.Server,
    readonly received: ReceivedWebhook[],
  ) {}

  static async start(answer: (request: number) => ReceiverAnswer = () => ({ status: 200 }), port = 0): Promise<WebhookReceiver> {
    const received: ReceivedWebhook[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const { status, headers, delayMs = 0 } = answer(received.length);
        const reply = () => {
          if (!res.destroyed) res.writeHead(status, headers).end('ok');
        };
        if (delayMs > 0) setTimeout(reply, delayMs).unref();
        else reply();
      });
    });
    const receiver = new WebhookReceiver(server, received);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hooks/sandq'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
