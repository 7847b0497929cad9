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
	// The page asks its own origin for tokens (POST /api/token): passed on to the server at its default address.
	server: {
		host: '127.0.0.1',
		proxy: { '/api': { target: 'https://127.0.0.1:4443', secure: false, changeOrigin: true } },
	},
});
