// vite.config.ts — vite build
import { defineConfig } from 'vite';
import { smartasyncVite } from 'smartasync/bundler';

export default defineConfig({
  plugins: [smartasyncVite()],
  build: { ssr: 'src/server.ts', outDir: 'dist' },
});
// dist/server.js, dist/assets/smartasync-worker-[hash].js, a chunk per module that offloads
