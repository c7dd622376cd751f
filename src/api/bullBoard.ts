import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router } from 'express';
import { ProblemError } from '../shared/problems/ProblemError.js';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardOptions {
  /**
   * Whether the board may change the queues: retry, remove, clean, pause,
   * promote, add jobs. Off, it only shows them; every request that would
   * change something answers 403 (forbidden), before Bull Board sees it.
   * @defaultValue false (ADMIN_BOARD_WRITES)
   */
  writable: boolean;
}

/** Bull Board, mounted at /admin/queues, over the queues the API knows. */
export function bullBoardRouter(queues: Queue[], options: BullBoardOptions): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !options.writable })), serverAdapter });
  const board = serverAdapter.getRouter() as Router;
  if (options.writable) return board;
  const readOnly = Router();
  // Bull Board reads with GET only; its read-only mode alone would still let "pause all" and others through to some queues.
  readOnly.use((req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    next(new ProblemError('forbidden', { detail: 'Bull Board only shows the queues here; set ADMIN_BOARD_WRITES=true to let it change them.' }));
  });
  readOnly.use(board);
  return readOnly;
}
