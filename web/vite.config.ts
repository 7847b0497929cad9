import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// Built into web/dist by scripts/setup.mjs and served by the server at its root.
export default defineConfig({
	base: './',
	plugins: [vue()],
	build: {
		outDir: 'dist',
		emptyOutDir: true,
		target: 'es2022',
		sourcemap: true,
		chunkSizeWarningLimit: 1024,
	},
	// `vite` (dev server) for UI work; point it at a running server with ?server=wss://host:port.
	server: {
		host: '127.0.0.1',
	},
});
