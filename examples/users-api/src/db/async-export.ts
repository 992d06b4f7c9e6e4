// The export of the async drivers (mysql2, pg), run on pool workers. An async driver parses
// every row it receives where it is awaited: twenty 100k-row exports on the server's event loop
// held its light requests up for a second (issue 15, defect 8). Here, smartasync's
// `offloadAsync` runs the export's body on a pool worker: the worker's own connections, the
// driver's parsing and the encoding are that worker's work, and only chunks of text reach the
// event loop. Its own module, as ./async.ts: workers import it to find the class.
import { smartasync } from 'smartasync';
import type { ExportType } from '../export-text.ts';
import { AsyncDriverManager } from './async-manager.ts';
import type { ManagerOptions, User } from './model.ts';

/**
 * The users export over an async driver, for a worker: each worker builds its own instance
 * (a replica, with its own pool of up to `poolSize` connections, opened as exports need them)
 * and runs its exports' bodies on its event loop, many at once. The workers run below the
 * server's event loop (smartasync's `workerNice`, src/main.ts): on a machine whose cores are all
 * busy, the loop that answers requests comes first.
 */
export class AsyncExport {
  readonly #db: AsyncDriverManager;

  constructor(url: string, options: ManagerOptions = {}) {
    this.#db = new AsyncDriverManager(url, options);
  }

  /** Every user, in id order, as the reader reads them (AsyncDriverManager.exportUsers). */
  async *users(): AsyncGenerator<User, void, undefined> {
    yield* this.#db.exportUsers();
  }

  /**
   * The export's text, in chunks of ROWS_PER_CHUNK rows. Sent as strings: Buffers made here
   * would arrive on the event loop as new external memory, 200 MB of which (eight 100k-row
   * exports) set off major collections there, with pauses of 16-40 ms, where strings cost only
   * minor ones of 3-7 ms.
   */
  async *text(type: ExportType): AsyncGenerator<string, void, undefined> {
    yield* this.#db.exportText(type);
  }

  /** Closes this instance's connections. */
  close(): Promise<void> {
    return this.#db.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** AsyncExport, its async methods run on pool workers (see the top of this file). */
export const OffloadedAsyncExport = smartasync(AsyncExport, { offloadAsync: true });
