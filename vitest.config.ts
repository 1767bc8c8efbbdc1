import { defineConfig } from 'vitest/config';

// One process at a time: integration suites start real daemons (coturn, redis, rtpengine, sipp) and a browser.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
    setupFiles: ['test/support/setup.ts'],
  },
});
