import { packageProject } from '../../vitest.shared.ts';

export default packageProject({ name: 'core', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] });
