import { randomUUID } from 'node:crypto';

const EXECUTION_ID = /^ex_[0-9a-f]{32}$/;

export function newExecutionId(): string {
  return `ex_${randomUUID().replaceAll('-', '')}`;
}

export function isExecutionId(value: string): boolean {
  return EXECUTION_ID.test(value);
}
