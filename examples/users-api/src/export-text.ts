// The export's text: users encoded as NDJSON or CSV, ROWS_PER_CHUNK rows at a time. No HTTP
// here, so that whoever reads the rows encodes them: the event loop for the synchronous drivers
// (rows come from a worker), a pool worker for the async drivers (AsyncDriverManager.exportText,
// run there with offloadAsync), the CLI.
import { stringify } from 'csv-stringify/sync';
import type { User } from './db/model.ts';

/** The media types of the export, the first the default. */
export const EXPORT_TYPES = ['application/x-ndjson', 'text/csv'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** Rows per chunk of text written to the response: one write per row would cost a syscall each. */
export const ROWS_PER_CHUNK = 256;

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

/**
 * The text of `rows` as `type`, ROWS_PER_CHUNK rows a chunk; always at least one chunk (CSV's
 * header alone, or '' for NDJSON, when there are no rows). Ending the loop early ends `rows`
 * (its cursor closes).
 */
export async function* exportText(
  type: ExportType,
  rows: AsyncIterator<User, void, undefined> | Iterator<User, void, undefined>,
): AsyncGenerator<string, void, undefined> {
  try {
    let batch: User[] = [];
    let opening = true;
    for (let step = await rows.next(); !step.done; step = await rows.next()) {
      batch.push(step.value);
      if (batch.length === ROWS_PER_CHUNK) {
        yield encode(type, batch, opening);
        opening = false;
        batch = [];
      }
    }
    if (batch.length > 0 || opening) yield encode(type, batch, opening);
  } finally {
    await rows.return?.();
  }
}
