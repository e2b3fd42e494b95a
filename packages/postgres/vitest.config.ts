import { packageProject } from '../../vitest.shared.ts';

export default packageProject({
  name: 'postgres',
  include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  testTimeout: 60_000,
});
