/**
 * The Rollup plugin, which Vite uses too (Vite 8 bundles with Rolldown, which runs Rollup
 * plugins). Rollup can split one build into chunks, so no second build is needed: every
 * module that imports smartasync (entries aside) becomes a chunk of its own, which a worker
 * imports as it would import the module of an app that is not bundled, and the worker entry
 * is one more chunk. The generated modules name those files with
 * `import.meta.ROLLUP_FILE_URL_<ref>`, which Rollup turns into a URL relative to the chunk
 * they end up in, for ESM and CommonJS output alike.
 */
import path from 'node:path';
import { DEFAULT_WORKER_NAME, PACKAGE, moduleId, scopeModuleSource, type SmartasyncPluginOptions } from './shared.ts';

/** The parts of Rollup's plugin context the plugin uses. */
export interface RollupPluginContext {
  /** Adds a chunk to the build (the worker entry, a module that imports smartasync); returns its reference. */
  emitFile(file: { type: 'chunk'; id: string; name?: string }): string;
  /** What Rollup knows of a module. */
  getModuleInfo(id: string): {
    /** Whether it is an entry of the build: entries are not chunks of their own. */
    isEntry: boolean;
  } | null;
}

/** A Rollup plugin (the hooks this one has). */
export interface RollupPlugin {
  /** The plugin's name, in Rollup's messages. */
  name: string;
  /** Emits the worker entry's chunk. */
  buildStart(this: RollupPluginContext): void;
  /** Resolves imports of `smartasync` to the generated module of the importer. */
  resolveId(this: RollupPluginContext, source: string, importer: string | undefined): string | null;
  /** Loads the generated modules and the worker entry. */
  load(this: RollupPluginContext, id: string): string | null;
  /** Writes the URL of a chunk of the plugin's relative to the chunk that names it. */
  resolveFileUrl(args: { referenceId: string; relativePath: string; format: string }): string | null;
}

/** A Vite plugin: the Rollup plugin, for server (SSR) builds only. */
export interface VitePlugin extends RollupPlugin {
  /** Runs before Vite's own plugins, which would resolve `smartasync` first. */
  enforce: 'pre';
  /** Whether the plugin applies to a build: server (SSR) builds only. */
  apply(config: { build?: { ssr?: unknown } }, env: { command: string; isSsrBuild?: boolean }): boolean;
  /** Vite 6 and later: server environments only, when one build makes several. */
  applyToEnvironment(environment: { config: { consumer: string } }): boolean;
  /** Reads the project's root, which module ids are relative to. */
  configResolved(config: { root: string }): void;
}

/** Options of {@link smartasyncRollup} and {@link smartasyncVite}. */
export type SmartasyncRollupOptions = SmartasyncPluginOptions;

const SCOPE_PREFIX = '\0smartasync-scope:';
const WORKER_ID = '\0smartasync-worker-entry';

function rollupPlugin(options: SmartasyncRollupOptions, rootOf: () => string): RollupPlugin {
  let workerRef = '';
  const chunkRefs = new Map<string, string>();
  return {
    name: 'smartasync',
    buildStart() {
      chunkRefs.clear();
      workerRef = this.emitFile({ type: 'chunk', id: WORKER_ID, name: options.workerName ?? DEFAULT_WORKER_NAME });
    },
    // File URLs of our chunks, relative to the chunk that names them (Vite would make them
    // paths under its public base, for browsers).
    resolveFileUrl({ referenceId, relativePath, format }) {
      if (referenceId !== workerRef && ![...chunkRefs.values()].includes(referenceId)) return null;
      const rel = JSON.stringify(relativePath.startsWith('.') ? relativePath : `./${relativePath}`);
      if (format === 'es') return `new URL(${rel}, import.meta.url).href`;
      if (format === 'cjs')
        return `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${rel})).href`;
      return null;
    },
    resolveId(source, importer) {
      if (source === WORKER_ID) return WORKER_ID;
      // Virtual modules (ours, other plugins') import smartasync as usual.
      if (source !== PACKAGE || !importer || importer.startsWith('\0')) return null;
      return SCOPE_PREFIX + importer;
    },
    load(id) {
      if (id === WORKER_ID) {
        return `import { startBundledWorker } from ${JSON.stringify(`${PACKAGE}/bundler/worker`)};\nstartBundledWorker();\n`;
      }
      if (!id.startsWith(SCOPE_PREFIX)) return null;
      const file = id.slice(SCOPE_PREFIX.length);
      const entry = this.getModuleInfo(file)?.isEntry ?? false;
      let url = 'undefined';
      if (!entry) {
        let ref = chunkRefs.get(file);
        if (!ref) chunkRefs.set(file, (ref = this.emitFile({ type: 'chunk', id: file })));
        url = `import.meta.ROLLUP_FILE_URL_${ref}`;
      }
      return scopeModuleSource({
        id: moduleId(path.resolve(rootOf(), options.root ?? '.'), file),
        entry,
        url,
        worker: `import.meta.ROLLUP_FILE_URL_${workerRef}`,
      });
    },
  };
}

/**
 * The Rollup plugin that makes bundled apps offload: each module that imports smartasync
 * becomes a chunk a worker can import on its own, registrations are keyed by module path and
 * rank, and a worker entry chunk (`smartasync-worker.js`) is emitted beside the bundle.
 * Output format `es` or `cjs`, for Node; not with `inlineDynamicImports`.
 *
 * @example
 * ```ts
 * // rollup.config.mjs
 * import { smartasyncRollup } from 'smartasync/bundler';
 * export default { input: 'src/server.ts', output: { dir: 'dist', format: 'es' }, plugins: [smartasyncRollup(), ...] };
 * ```
 */
export function smartasyncRollup(options: SmartasyncRollupOptions = {}): RollupPlugin {
  return rollupPlugin(options, () => process.cwd());
}

/**
 * The Vite plugin: {@link smartasyncRollup} for server builds (`vite build --ssr`); client
 * builds and the dev server are left alone.
 *
 * @example
 * ```ts
 * // vite.config.ts
 * import { defineConfig } from 'vite';
 * import { smartasyncVite } from 'smartasync/bundler';
 * export default defineConfig({ plugins: [smartasyncVite()], build: { ssr: 'src/server.ts' } });
 * ```
 */
export function smartasyncVite(options: SmartasyncRollupOptions = {}): VitePlugin {
  let root = process.cwd();
  return {
    ...rollupPlugin(options, () => root),
    enforce: 'pre',
    apply: (config, env) => env.command === 'build' && (env.isSsrBuild === true || !!config.build?.ssr),
    applyToEnvironment: (environment) => environment.config.consumer === 'server',
    configResolved(config) {
      root = config.root;
    },
  };
}
