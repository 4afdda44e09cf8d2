import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Workers (Temporal's native core) need real processes, not threads.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/isolate-task-queues.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
