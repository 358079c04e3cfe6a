import { defineConfig } from 'vitest/config';

// These tests start real cloud and edge processes; run files one at a time so two villages do
// not fight for the two CPU cores and turn timing bounds into flakes.
export default defineConfig({
  test: { fileParallelism: false, testTimeout: 180_000, hookTimeout: 60_000 },
});
