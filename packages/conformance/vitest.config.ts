import { packageProject } from '../../vitest.shared.ts';

export default packageProject({ name: 'conformance', include: ['test/**/*.test.ts'], testTimeout: 30_000 });
