/**
 * Bundled apps. A bundle puts every module (often smartasync too) into one file, so the call
 * site that keys a registration elsewhere says nothing a worker could use: it names the
 * bundle, which is the entry module, at positions that differ between bundles. The bundler
 * plugins (src/bundler/) therefore make every module that imports smartasync import it
 * through a small generated module that names the importer (its path from the project root)
 * and how a worker evaluates it; registrations made through it are keyed by that name and
 * their order in the module, which read the same in the app's bundle and in the worker's.
 *
 * State lives on `globalThis`, like the registry's, so that every copy of smartasync in a
 * thread (the app's, the generated modules' runtime) agrees.
 */

/** One module of a bundle, as the bundler plugin describes it. */
export interface BundledModule {
  /** Its path from the project root (`src/db.ts`): the same in the app's bundle and the worker's. */
  readonly id: string;
  /** An entry module of the bundle: a worker must not evaluate it (it would start the app again). */
  readonly entry: boolean;
  /**
   * What a worker imports to evaluate it: a chunk's file URL, or `smartasync-bundle:<id>` for
   * a module of the worker entry's own bundle.
   */
  readonly url: string;
}

/** Module URLs that name a module of the worker entry's own bundle. */
export const BUNDLE_URL_PREFIX = 'smartasync-bundle:';

interface BundleState {
  /** The module whose registering call (`smartasync()`, `registerError()`, `@offloadable`) runs now. */
  current: BundledModule | undefined;
  /** Registering calls made so far, per module id. */
  readonly counts: Map<string, number>;
  /** The worker entry a plugin-built bundle brought (a file URL). */
  workerUrl: string | undefined;
  /** In a bundled worker entry: how to evaluate each module of its bundle. */
  loaders: Readonly<Record<string, () => Promise<unknown>>> | undefined;
}

const STATE_KEY = Symbol.for('smartasync.bundle.v1');
const state: BundleState = ((globalThis as Record<symbol, unknown>)[STATE_KEY] ??= {
  current: undefined,
  counts: new Map(),
  workerUrl: undefined,
  loaders: undefined,
}) as BundleState;

/** Runs `register` (a registering call) as made by `mod`. */
export function inBundledModule<T>(mod: BundledModule, register: () => T): T {
  const outer = state.current;
  state.current = mod;
  try {
    return register();
  } finally {
    state.current = outer;
  }
}

/** The bundled module making the registration under way, and how many it made before (from 1). */
export function takeBundledSite(): { readonly module: BundledModule; readonly ordinal: number } | undefined {
  const mod = state.current;
  if (!mod) return undefined;
  const ordinal = (state.counts.get(mod.id) ?? 0) + 1;
  state.counts.set(mod.id, ordinal);
  return { module: mod, ordinal };
}

/** Records the worker entry the bundle brought. */
export function setBundleWorker(url: string): void {
  state.workerUrl = url;
}

/** The worker entry of a plugin-built bundle, if this thread runs one. */
export function bundleWorker(): string | undefined {
  return state.workerUrl;
}

/** In a bundled worker entry: records how to evaluate each module of its bundle. */
export function setBundleLoaders(loaders: Readonly<Record<string, () => Promise<unknown>>>): void {
  state.loaders = loaders;
}

/** How to evaluate the bundled module `id` in this worker, if its bundle has it. */
export function bundleLoader(id: string): (() => Promise<unknown>) | undefined {
  const loaders = state.loaders;
  return loaders && Object.hasOwn(loaders, id) ? loaders[id] : undefined;
}
