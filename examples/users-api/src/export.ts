// GET /users/export: every user, streamed from the data layer's export generator into the HTTP
// response with backpressure at each step. The response's socket is drained before more text is
// made; the text is made only as rows arrive; rows arrive from the worker (or the async driver's
// cursor) only as they are read. A client that goes away ends the export where it is.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { FastifyReply } from 'fastify';
import type { User } from './db/model.ts';
import { DeadlineError } from './db/store.ts';

/** The media types of the export, the first the default. */
export const EXPORT_TYPES = ['application/x-ndjson', 'text/csv'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** Rows per chunk of text written to the response: one write per row would cost a syscall each. */
export const ROWS_PER_CHUNK = 256;
/** How long an export may take to stop on its own once its client has gone, before it is aborted. */
const STOP_GRACE_MS = 1_000;

const CSV_COLUMNS = ['id', 'name', 'email'];

/** One chunk of text for `users`; `first`: the chunk that opens the export (CSV's header line). */
export function encode(type: ExportType, users: User[], first: boolean): string {
  if (type === 'application/x-ndjson') {
    let text = '';
    for (const user of users) text += JSON.stringify(user) + '\n';
    return text;
  }
  // RFC 4180 quoting; a cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is
  // prefixed with a quote, as OWASP advises for CSV that people open in spreadsheets.
  return stringify(users, { columns: CSV_COLUMNS, header: first, escape_formulas: true, record_delimiter: 'unix' });
}

/** The export's text, ROWS_PER_CHUNK rows at a time. Returning early ends `rows` (its cursor closes). */
async function* chunks(
  type: ExportType,
  first: IteratorResult<User, void>,
  rows: AsyncGenerator<User, void, undefined>,
  onEnd: () => void,
): AsyncGenerator<string, void, undefined> {
  try {
    let batch: User[] = [];
    let opening = true;
    for (let step = first; !step.done; step = await rows.next()) {
      batch.push(step.value);
      if (batch.length === ROWS_PER_CHUNK) {
        yield encode(type, batch, opening);
        opening = false;
        batch = [];
      }
    }
    if (batch.length > 0 || opening) yield encode(type, batch, opening);
  } finally {
    try {
      await rows.return();
    } finally {
      onEnd();
    }
  }
}

/**
 * Streams `rows` into `reply` as `type`. The first row (or the end) is read before the status is
 * sent, so a database that cannot be reached is still a 503; a failure after that can only cut
 * the response short (the connection is closed without the final chunk, so a client never takes
 * a partial export for a whole one). `abort` ends a data-layer call stuck past the grace period
 * after its client went away, or a first row that takes longer than `firstRowMs` (a 503).
 */
export async function streamExport(
  reply: FastifyReply,
  type: ExportType,
  rows: AsyncGenerator<User, void, undefined>,
  abort: () => void,
  firstRowMs: number,
): Promise<FastifyReply> {
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    rows.next(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort();
        reject(new DeadlineError(firstRowMs));
      }, firstRowMs);
    }),
  ]).finally(() => clearTimeout(timer));
  let ended = false;
  const body = Readable.from(
    chunks(type, first, rows, () => (ended = true)),
    { objectMode: false },
  );
  // Fastify destroys the body when the client goes away, which returns the generator above; it
  // can only return once its pending read settles, so a read stuck on the database is aborted.
  reply.raw.once('close', () => {
    if (!ended) setTimeout(() => ended || abort(), STOP_GRACE_MS).unref();
  });
  return reply
    .type(type === 'text/csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="users.${type === 'text/csv' ? 'csv' : 'ndjson'}"`)
    .send(body);
}
