import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The dev server proxies the API to a running `outpost-server` (override with OUTPOST_API).
const api = process.env.OUTPOST_API ?? 'http://127.0.0.1:8787';

export default defineConfig({
  plugins: [svelte()],
  // Relative asset paths: the same dist works in the desktop app and under the web console.
  base: './',
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/api': { target: api, changeOrigin: true } },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
});
