import { defineConfig } from 'tsup';

// The worker entry is ESM only: a worker can load it whatever format the caller used.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    shims: true,
    clean: true,
    target: 'node22',
    sourcemap: true,
  },
  {
    entry: { worker: 'src/worker/worker.ts' },
    format: ['esm'],
    target: 'node22',
    sourcemap: true,
  },
]);
