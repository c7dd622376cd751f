import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures: programs the sandbox runs, not part of the project's code.
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // One direction of dependency: api and worker use shared, never each other.
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/worker/**', '**/worker'], message: 'src/api must not import src/worker; move what both need to src/shared.' }] }],
    },
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/api'], message: 'src/worker must not import src/api; move what both need to src/shared.' }] }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/worker/**', '**/cli/**', '**/executions/**'], message: 'src/shared is the bottom layer and imports neither api, worker, cli nor executions.' }] }],
    },
  },
  // An execution's state, shared by api and worker: it sits on src/shared and under both.
  {
    files: ['src/executions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/worker/**', '**/cli/**'], message: 'src/executions is shared by api and worker and imports neither them nor cli.' }] }],
    },
  },
);
