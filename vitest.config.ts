import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/node-version.ts'],
    // Integration suites start real loopback servers; two workers match the two cores we have.
    maxWorkers: 2,
    // A hang guard, not a speed target (those live in `npm run bench`): CDK synths with esbuild
    // bundling take over 20 s on 2 busy cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
