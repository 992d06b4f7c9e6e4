/**
 * Facts about the thread and process we run in: are we inside a smartasync worker, which
 * module is the process entry, where the worker script lives.
 */
import { isMainThread, workerData } from 'node:worker_threads';
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
