import { defineConfig } from 'vitest/config';

// One file at a time: integration and browser tests start real mediasoup
// workers and Chromium, and a 2-core machine must not run them side by side.
export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		pool: 'forks',
		fileParallelism: false,
		testTimeout: 60_000,
		hookTimeout: 60_000,
		reporters: ['default'],
	},
});
