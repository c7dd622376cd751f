import type { FakeE2B } from '../fakes/FakeE2B.js';
import { startTestService, type TestService } from './service.js';

/**
 * The whole service with the e2b provider pointed at a fake E2B (the real SDK
 * talks to it over HTTP). Creation is fast and plentiful unless a test says
 * otherwise; the local provider stays the default, so requests choose `e2b`.
 */
export async function startE2BTestService(fake: FakeE2B, env: Record<string, string> = {}, role: 'all' | 'api' = 'all'): Promise<TestService> {
  return await startTestService(
    {
      ...fake.env(),
      E2B_CREATE_RATE_PER_SECOND: '100',
      E2B_REQUEST_TIMEOUT_MS: '5000',
      POOL_SIZE: '0',
      ...env,
    },
    role,
  );
}
