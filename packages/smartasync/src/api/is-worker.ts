/**
 * Whether this thread is one of smartasync's workers: for modules whose import has side
 * effects (a server that listens, a timer, a connection pool) and that also register code
 * a worker must find. A worker finds a wrapped function by importing its module, so that
 * module's top-level code runs again in every worker; `isWorker` lets it skip the work that
 * belongs to the application's own thread.
 */
import { inSmartasyncWorker } from '../wire/protocol.ts';

/**
 * `true` inside smartasync's worker threads (the pool's workers and the sync bridge's), which
 * import your modules to find wrapped code; `false` on the main thread and in worker threads
 * of your own. Guard start-up work in a module that registers code:
 *
 * @example
 * ```ts
 * export const report = smartasync(buildReport);
 * if (!isWorker) await app.listen({ port: 3000 }); // not again in every worker
 * ```
 */
export const isWorker: boolean = inSmartasyncWorker;
