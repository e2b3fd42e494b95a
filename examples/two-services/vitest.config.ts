import { packageProject } from '../../vitest.shared.ts';

export default packageProject({
  name: 'two-services',
  include: ['*.test.ts'],
  testTimeout: 90_000,
});
