import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; callers add `executionId` through child loggers. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
