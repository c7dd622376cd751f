import type { Redis } from 'ioredis';
import type { CancelRequests } from '../executions/CancelRequests.js';
import { isExecutionId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { settleWithin } from '../shared/settleWithin.js';

export interface CancelListenerOptions {
  cancels: CancelRequests;
  /** Aborts the execution if it runs in this process. */
  cancel: (executionId: string) => void;
  /** Executions running here, looked up again after a reconnect. */
  active: () => Iterable<string>;
  logger: Logger;
}

/**
 * Subscribes to the deployment's cancel channel on a connection of its own
 * (a subscribed connection takes no other commands). Pub/sub drops messages
 * sent while the connection is down, so after every reconnect the marks of the
 * executions running here are read again.
 */
export class CancelListener {
  private constructor(private readonly subscriber: Redis) {}

  static async start(redis: Redis, options: CancelListenerOptions): Promise<CancelListener> {
    const { cancels, cancel, active, logger } = options;
    const subscriber = redis.duplicate({ connectionName: 'sandq-worker-cancels' });
    subscriber.on('error', (error) => logger.warn({ err: error }, 'cancel listener connection error'));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== cancels.channel || !isExecutionId(message)) return;
      logger.info({ executionId: message }, 'cancel requested');
      cancel(message);
    });
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      for (const executionId of active()) {
        cancels.isMarked(executionId).then(
          (marked) => marked && cancel(executionId),
          (error: unknown) => logger.warn({ executionId, err: error }, 'could not check for a cancel'),
        );
      }
    });
    await subscriber.subscribe(cancels.channel);
    return new CancelListener(subscriber);
  }

  async close(): Promise<void> {
    if (!(await settleWithin(this.subscriber.quit(), 2000))) this.subscriber.disconnect();
  }
}
