/**
 * `smartasync/bundler/worker`: the worker entry that smartasync's bundler plugins bundle beside
 * an app (`smartasync-worker.js`). Not for apps.
 *
 * @packageDocumentation
 */
export { startBundledWorker, type BundleLoaders } from './worker/bundled.ts';
