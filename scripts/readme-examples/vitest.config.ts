import { packageProject } from '../../vitest.shared.ts';

export default packageProject({
  name: 'readme-examples',
  include: ['*.test.ts'],
  testTimeout: 60_000,
});
