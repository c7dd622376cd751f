import { z } from 'zod';
import { EXECUTION_STATUSES } from '../../shared/contract/execution.js';

export const MAX_WAIT_SECONDS = 60;
export const MAX_BATCH_SIZE = 100;
export const MAX_LIST_LIMIT = 100;
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Query strings and envelopes the routes validate; the OpenAPI document is
 * generated from these same schemas.
 */
export const getQuerySchema = z.object({
  wait: z.coerce
    .number()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(`Seconds to hold the request until the execution is final (0-${MAX_WAIT_SECONDS}); answered at once when it is.`),
});

export const listQuerySchema = z.object({
  status: z.enum(EXECUTION_STATUSES).optional().describe('Only executions with this status.'),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(20).describe('Page size.'),
  cursor: z.string().optional().describe("The previous page's nextCursor."),
});

export const batchSchema = z
  .object({
    executions: z.array(z.unknown()).min(1).max(MAX_BATCH_SIZE),
  })
  .strict();
