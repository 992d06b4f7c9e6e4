import { createRequire } from 'node:module';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/**
 * Bundlers (esbuild, Rollup, Vite) resolve the "module" condition, which Node ignores: they get
 * the real ESM build, so an ESM bundle holds no require() of Node's modules (esbuild cannot
 * bundle those into ESM), and a bundle holds one copy whether its modules import or require.
 */
function keepModuleBuild(): void {
  renameSync('dist/index.js', 'dist/index.module.js');
  const map = readFileSync('dist/index.js.map', 'utf8');
  writeFileSync('dist/index.module.js.map', map);
  rmSync('dist/index.js.map');
  const code = readFileSync('dist/index.module.js', 'utf8');
  writeFileSync(
    'dist/index.module.js',
    code.replace(/sourceMappingURL=index\.js\.map/, 'sourceMappingURL=index.module.js.map'),
  );
}

/**
 * One copy of the library per process, however it is loaded: the ESM entry is a thin wrapper
 * over the CommonJS build, so an app whose modules import it and require it alike still has one
 * pool, one configure() and one set of instances (the dual-package hazard). Its export list
 * is read from the CommonJS build, so the two cannot drift apart.
 */
function writeEsmWrapper(): void {
  keepModuleBuild();
  const lib = createRequire(import.meta.url)('./dist/index.cjs') as Record<string, unknown>;
  const names = Object.keys(lib).filter((name) => name !== 'default' && name !== '__esModule');
  writeFileSync(
    'dist/index.js',
    '// ESM entry: the CommonJS build, so that import and require share one copy of smartasync.\n' +
      `import lib from './index.cjs';\n\nexport const { ${names.join(', ')} } = lib;\n`,
  );
}

// The worker entry is ESM only: a worker can load it whatever format the caller used.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'], // the esm output becomes index.module.js, and index.js the wrapper
    dts: true,
    // No shims: the code finds its own file from the stack, and a shim for import.meta.url
    // reads __filename when loaded, which fails once the CommonJS build is bundled into ESM.
    shims: false,
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
  // For bundled apps: the plugins (run by the build tool), and the internal entries the code
  // they generate imports. The runtime entries keep their state on globalThis, so the copies
  // in them and in the main build agree.
  {
    entry: {
      bundler: 'src/bundler/index.ts',
      'bundler-runtime': 'src/bundler-runtime.ts',
      'bundler-worker': 'src/bundler-worker.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    splitting: false,
    target: 'node22',
    sourcemap: true,
  },
]);
