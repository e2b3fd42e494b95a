import { defineConfig } from 'vitest/config';

/**
 * One vitest project per package (each package's vitest.config.ts resolves workspace packages to
 * their TypeScript sources). On CI a JSON report is also written so .ci/run can print one plain
 * "N passed, N failed" line.
 */
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/demo', 'examples/two-services', 'scripts/readme-examples'],
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.tools/vitest-report.json' },
  },
});
