import { defineProject } from 'vitest/config';

/**
 * As vitest.shared.ts's packageProject, without the `module` condition: it picks @opentelemetry's
 * ESM build, whose imports have no file extensions and fail under Node.
 */
const conditions = ['switchyard-source', 'node', 'development|production'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['switchyard-source'] } },
  test: {
    name: 'opentelemetry',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
