/**
 * `smartasync/bundler`: plugins that make bundled apps offload (esbuild, Rollup, Vite). A
 * worker finds a function by evaluating the module that registered it; in a bundle that
 * module is the bundle itself. The plugins key registrations by module path and rank and
 * emit a worker entry beside the bundle. See "Bundled apps" in the README.
 *
 * @packageDocumentation
 * @module smartasync/bundler
 */
export { smartasyncEsbuild } from './esbuild.ts';
export type {
  SmartasyncEsbuildOptions,
  EsbuildPlugin,
  EsbuildPluginBuild,
  EsbuildBuildOptions,
  EsbuildBuildResult,
  EsbuildMessage,
} from './esbuild.ts';
export { smartasyncRollup, smartasyncVite } from './rollup.ts';
export type { SmartasyncRollupOptions, RollupPlugin, RollupPluginContext, VitePlugin } from './rollup.ts';
export type { SmartasyncPluginOptions } from './shared.ts';
