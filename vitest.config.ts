import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own Hotjar stand-in on loopback; files run in parallel on the two cores.
    pool: 'forks',
  },
});
