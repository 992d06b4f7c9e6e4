// The export's text: users encoded as NDJSON or CSV, ROWS_PER_CHUNK rows at a time. No HTTP
// here, so that whoever reads the rows encodes them: a pool worker (DatabaseManager.exportText for
// the synchronous drivers; AsyncExport.text for the async ones, run there with offloadAsync), so
// that only chunks of text reach the server's event loop; or the server itself in the naive
// `inline` mode.
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

/** Gathers users into chunks of text, ROWS_PER_CHUNK rows each. */
class Chunker {
  #batch: User[] = [];
  #opening = true;
  readonly #type: ExportType;

  constructor(type: ExportType) {
    this.#type = type;
  }

  /** Takes one user; the chunk it completes, if it does. */
  add(user: User): string | undefined {
    this.#batch.push(user);
    return this.#batch.length === ROWS_PER_CHUNK ? this.#take() : undefined;
  }

  /** The last chunk: the rows left over, or the whole (empty) export if none was made. */
  last(): string | undefined {
    return this.#batch.length > 0 || this.#opening ? this.#take() : undefined;
  }

  #take(): string {
    const text = encode(this.#type, this.#batch, this.#opening);
    this.#opening = false;
    this.#batch = [];
    return text;
  }
}

/**
 * The text of `rows` as `type`, ROWS_PER_CHUNK rows a chunk; always at least one chunk (CSV's
 * header alone, or '' for NDJSON, when there are no rows). Ending the loop early ends `rows`
 * (its cursor closes).
 */
export async function* exportText(
  type: ExportType,
  rows: AsyncIterable<User> | Iterable<User>,
): AsyncGenerator<string, void, undefined> {
  const chunks = new Chunker(type);
  for await (const user of rows) {
    const text = chunks.add(user);
    if (text !== undefined) yield text;
  }
  const text = chunks.last();
  if (text !== undefined) yield text;
}

/** exportText for synchronous rows, in a synchronous generator (what DatabaseManager.exportText runs on a worker). */
export function* exportTextSync(type: ExportType, rows: Iterable<User>): Generator<string, void, undefined> {
  const chunks = new Chunker(type);
  for (const user of rows) {
    const text = chunks.add(user);
    if (text !== undefined) yield text;
  }
  const text = chunks.last();
  if (text !== undefined) yield text;
}
