import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/** Resolve workspace packages to their TypeScript sources (the `source` export condition). */
const conditions = ['switchyard-source', 'module', 'node', 'development|production'];

/** The per-package vitest project: source resolution plus the package's own test settings. */
export function packageProject(test: NonNullable<UserWorkspaceConfig['test']>): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['switchyard-source'] } },
    test,
  });
}
