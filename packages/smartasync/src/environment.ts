/**
 * Facts about the thread and process we run in: are we inside a smartasync worker, which
 * module is the process entry, where the worker script lives.
 */
import { isMainThread, workerData, type ResourceLimits } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { MARK, type WorkerBoot } from './protocol.ts';

/** Set when this thread is a smartasync worker (pool or sync bridge). */
export const workerBoot: WorkerBoot | undefined = isMainThread
  ? undefined
  : ((workerData as Record<string, unknown> | null)?.[MARK] as WorkerBoot | undefined);

/** Inside a smartasync worker, sync bodies run inline: no nested offload. */
export const inSmartasyncWorker = workerBoot !== undefined;

/** The worker script that sits beside this module (`.ts` when run from source). */
export const workerScript: URL = new URL(
  import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js',
  import.meta.url,
);

/**
 * How large each worker's young generation (where new objects start) may grow, in MB, unless
 * `resourceLimits.maxYoungGenerationSizeMb` says otherwise. 48 makes 16 MB semi-spaces (32 MB
 * of new space), the most Node 20 allowed. Node 24 lets V8 grow them, step by step under a
 * steady stream of calls, to 64 MB, and keeps them while calls keep coming: a worker whose
 * live heap is 10 MB then holds 140 MB. Calls leave little behind that outlives them, so the
 * smaller young generation costs them nothing measurable (issue 8: bench/soak.ts and the
 * throughput section of the benchmark).
 */
export const DEFAULT_YOUNG_GENERATION_MB = 48;

/** The resource limits a smartasync worker starts with: the user's, over our default young generation. */
export function workerResourceLimits(user: ResourceLimits | undefined): ResourceLimits {
  return { ...user, maxYoungGenerationSizeMb: user?.maxYoungGenerationSizeMb ?? DEFAULT_YOUNG_GENERATION_MB };
}

function realFile(file: string): string | undefined {
  for (const candidate of [file, `${file}.js`, `${file}.mjs`, `${file}.cjs`, `${file}.ts`, `${file}.mts`, `${file}.cts`]) {
    try {
      if (fs.statSync(candidate).isFile()) return fs.realpathSync(candidate);
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

let entryFile: string | undefined | null = null;

/**
 * Whether `moduleUrl` is the module the process was started with (`node server.js`). A worker
 * importing it would run the whole program again, so such code cannot be offloaded.
 */
export function isEntryModule(moduleUrl: string): boolean {
  if (!isMainThread || !moduleUrl.startsWith('file:')) return false;
  if (entryFile === null) entryFile = process.argv[1] ? realFile(path.resolve(process.argv[1])) : undefined;
  if (!entryFile) return false;
  return realFile(fileURLToPath(moduleUrl)) === entryFile;
}
