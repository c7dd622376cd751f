import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardOptions {
  /**
   * Whether the board may change the queues: retry, remove, clean, pause,
   * promote, add jobs. Off, it only shows them; its write routes answer 405.
   * @defaultValue false (ADMIN_BOARD_WRITES)
   */
  writable: boolean;
}

/** Bull Board, mounted at /admin/queues, over the queues the API knows. */
export function bullBoardRouter(queues: Queue[], options: BullBoardOptions): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !options.writable })), serverAdapter });
  return serverAdapter.getRouter() as Router;
}
