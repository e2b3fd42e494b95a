import { defineConfig } from 'vitest/config';

/**
 * One vitest project per package. Every project resolves workspace packages to their TypeScript
 * sources through the `source` export condition, so tests never need a build first.
 */
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    projects: ['packages/*'],
  },
});
