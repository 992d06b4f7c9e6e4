import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/**
 * One copy of the library per process, however it is loaded: the ESM entry is a thin wrapper
 * over the CommonJS build, so an app whose modules import it and require it alike still has one
 * pool, one configure() and one set of instances (the dual-package hazard). Its export list
 * is read from the CommonJS build, so the two cannot drift apart.
 */
function writeEsmWrapper(): void {
  const lib = createRequire(import.meta.url)('./dist/index.cjs') as Record<string, unknown>;
  const names = Object.keys(lib).filter((name) => name !== 'default' && name !== '__esModule');
  writeFileSync(
    'dist/index.js',
    '// ESM entry: the CommonJS build, so that import and require share one copy of smartasync.\n' +
      `import lib from './index.cjs';\n\nexport const { ${names.join(', ')} } = lib;\n`,
  );
  rmSync('dist/index.js.map', { force: true });
}

// The worker entry is ESM only: a worker can load it whatever format the caller used.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'], // the esm output is replaced by the wrapper; tsup still emits its types
    dts: true,
    shims: true,
    clean: true,
    target: 'node22',
    sourcemap: true,
    onSuccess: async () => writeEsmWrapper(),
  },
  {
    entry: { worker: 'src/worker/worker.ts' },
    format: ['esm'],
    target: 'node22',
    sourcemap: true,
  },
]);
