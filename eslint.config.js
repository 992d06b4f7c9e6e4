// Lint configuration for the whole workspace (flat config, typescript-eslint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// The library's layers, top to bottom: api -> engine -> wire -> registry. The worker entry
// uses only wire and registry; errors.ts and types.ts, imported by all, import nothing. The
// typed surface (surface/: what smartasync(...) returns, types only) imports only types.ts.
// The bundler plugins (bundler/) stand apart: they import nothing of the runtime.
const lib = 'packages/smartasync/src';
const layer = (folder, forbidden) => ({
  files: [`${lib}/${folder}`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: forbidden,
            message:
              'smartasync layers import only downward (api -> engine -> wire -> registry; worker -> wire, registry).',
          },
        ],
      },
    ],
  },
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/build/**',
      'bench/results/**',
      '**/*.d.ts',
      '**/.tmp/**',
      'examples/users-api/vendor/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
  {
    // No import cycles anywhere in the workspace's own code.
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts', 'bench/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  {
    // Units short enough to read whole. The bundler plugins are left out: each build tool's
    // plugin API is one callback that registers its hooks inside.
    files: [`${lib}/{api,engine,wire,registry,worker,surface}/**/*.ts`, `${lib}/*.ts`],
    rules: { 'max-lines-per-function': ['error', { max: 40, skipBlankLines: true, skipComments: true }] },
  },
  layer('engine/**/*.ts', ['../api/*', '../surface/*', '../worker/*', '../index.ts']),
  layer('wire/**/*.ts', ['../api/*', '../surface/*', '../engine/*', '../worker/*', '../index.ts']),
  layer('registry/**/*.ts', ['../api/*', '../surface/*', '../engine/*', '../wire/*', '../worker/*', '../index.ts']),
  layer('worker/**/*.ts', ['../api/*', '../surface/*', '../engine/*', '../index.ts']),
  layer('api/**/*.ts', ['../worker/*', '../index.ts']),
  layer('surface/**/*.ts', [
    '../api/*',
    '../engine/*',
    '../wire/*',
    '../registry/*',
    '../worker/*',
    '../bundler/*',
    '../errors.ts',
    '../index.ts',
  ]),
  // The bundler plugins run in the build tool: they generate code and use none of the runtime.
  layer('bundler/**/*.ts', ['../api/*', '../engine/*', '../wire/*', '../registry/*', '../worker/*', '../*.ts']),
  layer('{errors,types}.ts', ['./*', '../*']),
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
