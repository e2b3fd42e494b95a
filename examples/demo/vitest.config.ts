import { packageProject } from '../../vitest.shared.ts';

export default packageProject({
  name: 'demo',
  include: ['*.test.ts'],
  testTimeout: 90_000,
});
