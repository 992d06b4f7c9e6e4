/**
 * The worker entry of a plugin-built bundle: the same worker, plus the way to evaluate each
 * module of the worker's own bundle by its id (esbuild's one-file worker bundle). Modules stay
 * unevaluated until a call needs them, as in a worker of an app that is not bundled.
 */
import { setBundleLoaders } from '../registry/bundle.ts';
import { startWorker } from './start.ts';

/** Module ids (paths from the project root) and how to evaluate each. */
export type BundleLoaders = Readonly<Record<string, () => Promise<unknown>>>;

/** Starts the worker of a bundled app; `loaders` evaluate the modules bundled with it. */
export function startBundledWorker(loaders: BundleLoaders = {}): void {
  setBundleLoaders(loaders);
  startWorker();
}
