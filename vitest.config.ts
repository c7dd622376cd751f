import { readdirSync } from 'node:fs';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/** A test file's folder decides its tier; test/README.md says which folder a new test goes in. */
const TIERS = ['unit', 'integration', 'e2e'] as const;

// A test file outside the tier folders would match no project and never run; refuse to start instead.
const untiered = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .filter((file) => !TIERS.some((tier) => file.startsWith(`${tier}/`)));
if (untiered.length > 0) {
  throw new Error(`test files outside test/{${TIERS.join(',')}}/ (see test/README.md): ${untiered.map((file) => `test/${file}`).join(', ')}`);
}

function tier(name: (typeof TIERS)[number]): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: { name, include: [`test/${name}/**/*.test.ts`] },
  };
}

export default defineConfig({
  test: {
    projects: TIERS.map(tier),
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own redis-server and sandboxes; two cores take two files at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
