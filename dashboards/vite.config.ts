import { defineConfig } from 'vite';

// The officers' dashboard: a static build that cloud-ingest serves from dashboards/dist (no CDN,
// no external fonts: it must work on an office network without internet).
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false, assetsInlineLimit: 0 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
