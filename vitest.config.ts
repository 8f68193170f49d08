import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration tests share loop devices and a lot of I/O; two workers match CI's two cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
