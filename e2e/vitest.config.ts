import { defineConfig } from 'vitest/config';

/**
 * End-to-end suite: real Chromium (Debian's, via playwright-core), the real server and the built
 * web app. Run with `npm run test:e2e`; files run one after another (two cores are not enough
 * for parallel browsers), and the web app is built once in global set-up.
 */
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
