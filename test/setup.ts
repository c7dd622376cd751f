import { afterAll } from 'vitest';
import { releaseIsolatedSandboxes } from './helpers/sandboxIsolation.js';

// Registered before each file's own hooks, so it runs after them: the sandboxes are stopped by then.
afterAll(() => {
  releaseIsolatedSandboxes();
});
