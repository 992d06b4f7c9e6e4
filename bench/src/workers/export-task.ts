// The manual piscina build of the export: how one streams rows out of a piscina task by hand.
// A task returns one value, so the rows go through a MessagePort passed in, in batches, with
// credit-based backpressure (the main thread grants a batch each time it takes one) and a
// `stop` message for a reader that goes away.
import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { workerData } from 'piscina';

export interface ExportTask {
  port: MessagePort;
  batch: number;
  /** Batches the worker may send before the reader asks for more. */
  credit: number;
}

export default async function exportUsers({ port, batch, credit }: ExportTask): Promise<number> {
  const db = new Database((workerData as { path: string }).path, { readonly: true });
  let stopped = false;
  let wake: (() => void) | undefined;
  port.on('message', (message: 'more' | 'stop') => {
    if (message === 'more') credit += 1;
    else stopped = true;
    wake?.();
  });
  let sent = 0;
  try {
    let rows: unknown[] = [];
    const flush = async () => {
      while (credit === 0 && !stopped) await new Promise<void>((resolve) => (wake = resolve));
      if (stopped) return;
      credit -= 1;
      port.postMessage(rows);
      sent += rows.length;
      rows = [];
    };
    for (const row of db.prepare('SELECT id, name, email FROM users ORDER BY id').iterate()) {
      rows.push(row);
      if (rows.length === batch) await flush();
      if (stopped) break;
    }
    if (rows.length > 0 && !stopped) await flush();
    if (!stopped) port.postMessage(null); // the end
    return sent;
  } finally {
    db.close();
    port.close();
  }
}
