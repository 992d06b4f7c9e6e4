// The manual piscina build of the export: how one streams an export out of a piscina task by
// hand. A task returns one value, so the export goes through a MessagePort passed in: its text,
// made here as the app makes it on its workers (users-api/export-text, ROWS_PER_CHUNK rows a
// chunk), with credit-based backpressure (the main thread grants a chunk each time it takes one)
// and a `stop` message for a reader that goes away.
import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { workerData } from 'piscina';
import { type ExportType, exportTextSync } from 'users-api/export-text';
import type { User } from 'users-api/manager';

/** `credit`: chunks the worker may send before the reader asks for more. */
export type ExportTask = { port: MessagePort; type: ExportType; credit: number };

export default async function exportUsers({ port, type, credit }: ExportTask): Promise<number> {
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
    const rows = db.prepare('SELECT id, name, email FROM users ORDER BY id').iterate() as Iterable<User>;
    for (const text of exportTextSync(type, rows)) {
      while (credit === 0 && !stopped) await new Promise<void>((resolve) => (wake = resolve));
      if (stopped) break;
      credit -= 1;
      port.postMessage(text);
      sent += 1;
    }
    if (!stopped) port.postMessage(null); // the end
    return sent;
  } finally {
    db.close();
    port.close();
  }
}
