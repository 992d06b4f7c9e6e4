/**
 * What the bundler plugins share: the options, module ids, and the code they generate. They
 * generate code and read nothing of the runtime: the generated modules import smartasync's
 * internal entries (`smartasync/bundler/runtime`, `smartasync/bundler/worker`), resolved
 * like any other import of the app, so the bundle holds one copy of smartasync.
 */
import path from 'node:path';

/** Options of every smartasync bundler plugin. */
export interface SmartasyncPluginOptions {
  /**
   * The folder that module names are taken relative to (`src/db.ts`); they key registrations
   * and must read the same in the app's bundle and the worker's. Default: esbuild's
   * `absWorkingDir`, Vite's `root`, else the current directory.
   */
  readonly root?: string;
  /** Base name of the worker entry written beside the bundle. Default: `smartasync-worker`. */
  readonly workerName?: string;
}

export const DEFAULT_WORKER_NAME = 'smartasync-worker';
/** The only specifier the plugins rebind: the package's own name. */
export const PACKAGE = 'smartasync';

/** A module's name: its path from `root`, with forward slashes. */
export function moduleId(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** How the generated module of one importer describes it; the last two are JavaScript expressions. */
export interface ScopeModule {
  readonly id: string;
  readonly entry: boolean;
  /** Evaluates to what a worker imports to evaluate the importer. */
  readonly url: string;
  /** Evaluates to the worker entry's file URL; absent in the worker's own bundle. */
  readonly worker: string | undefined;
  /** Imports the expressions need. */
  readonly imports?: string;
}

/**
 * The module an importer gets for `import ... from 'smartasync'`: every export of smartasync,
 * with the registering functions bound to the importer.
 */
export function scopeModuleSource(m: ScopeModule): string {
  const info = [
    `id: ${JSON.stringify(m.id)}`,
    `entry: ${m.entry}`,
    `url: ${m.url}`,
    ...(m.worker ? [`worker: ${m.worker}`] : []),
  ];
  return [
    `// smartasync's bundler plugin: ${JSON.stringify(m.id)} imports smartasync through this module.`,
    `import * as lib from ${JSON.stringify(PACKAGE)};`,
    `import { bundledModule } from ${JSON.stringify(`${PACKAGE}/bundler/runtime`)};`,
    m.imports ?? '',
    `export * from ${JSON.stringify(PACKAGE)};`,
    `const scoped = bundledModule({ ${info.join(', ')} }, lib);`,
    'export const smartasync = scoped.smartasync;',
    'export const registerError = scoped.registerError;',
    'export const offloadable = scoped.offloadable;',
    '',
  ].join('\n');
}

/**
 * The worker entry: smartasync's worker, and a loader per module, evaluated only when a call
 * needs it (as a worker of an app that is not bundled imports only the modules it needs).
 */
export function workerEntrySource(modules: ReadonlyMap<string, string>): string {
  const loaders = [...modules].map(([id, file]) => `  ${JSON.stringify(id)}: () => import(${JSON.stringify(file)}),`);
  return [
    `import { startBundledWorker } from ${JSON.stringify(`${PACKAGE}/bundler/worker`)};`,
    '',
    'startBundledWorker({',
    ...loaders,
    '});',
    '',
  ].join('\n');
}
