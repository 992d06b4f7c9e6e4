// Admin CLI: the same data layer, called synchronously (`.sync`, no await). Over a synchronous
// driver the methods run right here; over an async one (mysql2, pg), on smartasync's bridge
// worker while this thread waits.
import { writeSync } from 'node:fs';
import { Value } from 'typebox/value';
import { type DataLayer, openDataLayer } from './db/async.ts';
import type { User } from './db/model.ts';
import { migrate, type MigrateResult } from './db/migrate.ts';
import { DEFAULT_DATABASE_URL } from './db/url.ts';
import { encode, type ExportType, ROWS_PER_CHUNK } from './export.ts';
import { MAX_ID, UserInput } from './schemas.ts';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  list                     list users
  add-user <name> <email>  create a user
  delete-user <id>         delete a user
  export [--csv]           every user to standard output, as NDJSON (or CSV), read as it is written
  migrate                  bring the database's schema up to date (every command does it first)

The database is DATABASE_URL (default ${DEFAULT_DATABASE_URL}): sqlite:PATH, node-sqlite:PATH, postgres://...,
postgres+pg://... or mysql://...
DB_TIMEOUT_MS (default 5000) bounds each wait on the database (see the README).
Ids are decimal integers from 1 to ${MAX_ID}.
Exit codes: 0 done, 1 refused (duplicate email, no such user), 2 bad usage, 3 database unavailable,
DATABASE_URL unusable, or the database's schema cannot be upgraded or is newer than this version,
4 unexpected failure.`;

class Usage extends Error {}
class Refused extends Error {}

/** Decimal digits only: Number() would read 1e3 as 1000 and 0x10 as 16, and '' as 0. */
function parseId(text: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id <= MAX_ID))
    throw new Usage(`user id must be a decimal integer from 1 to ${MAX_ID}, not ${JSON.stringify(text)}`);
  return id;
}

/** Gone (EPIPE: `cli export | head`): the export stops, quietly, as the reader asked. */
class ReaderGone extends Error {}

/**
 * Writes `text` to standard output whole, blocking: the export goes no faster than its reader,
 * however the descriptor was opened (a non-blocking pipe answers EAGAIN when full).
 */
function writeOut(text: string): void {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(1, bytes));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new ReaderGone();
      if (code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** `export`: `.sync()` of the export generator, written out chunk by chunk; breaking out closes its cursor. */
function exportUsers(type: ExportType): void {
  let batch: User[] = [];
  let first = true;
  try {
    for (const user of open().exportUsers.sync()) {
      batch.push(user);
      if (batch.length === ROWS_PER_CHUNK) {
        writeOut(encode(type, batch, first));
        first = false;
        batch = [];
      }
    }
    if (batch.length > 0 || first) writeOut(encode(type, batch, first));
  } catch (error) {
    if (!(error instanceof ReaderGone)) throw error;
  }
}

function run(argv: string[], migration: MigrateResult): string | undefined {
  const [command, ...args] = argv;
  const arity = (n: number, form: string) => {
    if (args.length !== n) throw new Usage(`${command} takes ${n === 1 ? 'one argument' : `${n} arguments`}: ${form}`);
  };
  switch (command) {
    case 'list': {
      arity(0, 'list');
      const users = open().getAllUsers.sync();
      if (users.length === 0) return 'No users.';
      const width = Math.max(...users.map((u) => String(u.id).length));
      return users.map((u) => `${String(u.id).padStart(width)}  ${u.name} <${u.email}>`).join('\n');
    }
    case 'add-user': {
      arity(2, 'add-user <name> <email>');
      const input = { name: args[0]!, email: args[1]! };
      if (!Value.Check(UserInput, input))
        throw new Usage(
          `invalid user: ${[...Value.Errors(UserInput, input)].map((e) => `${e.instancePath.slice(1)} ${e.message}`).join('; ')}`,
        );
      const user = open().createUser.sync(input);
      return `Created user ${user.id}: ${user.name} <${user.email}>`;
    }
    case 'delete-user': {
      arity(1, 'delete-user <id>');
      const id = parseId(args[0]!);
      if (!open().deleteUser.sync(id)) throw new Refused(`User ${id} not found`);
      return `Deleted user ${id}`;
    }
    case 'export': {
      if (args.length > 1 || (args.length === 1 && args[0] !== '--csv'))
        throw new Usage('export takes no argument, or --csv: export [--csv]');
      exportUsers(args[0] === '--csv' ? 'text/csv' : 'application/x-ndjson');
      return undefined;
    }
    case 'migrate': {
      arity(0, 'migrate');
      const { applied, version } = migration;
      return applied.length > 0
        ? `Applied ${applied.join(', ')}: the schema is at ${version}.`
        : `Nothing to apply: the schema is at ${version}.`;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return USAGE;
    default:
      throw new Usage(`unknown command ${JSON.stringify(command)}`);
  }
}

let db: DataLayer | undefined;
function databaseTimeoutMs(): number | undefined {
  const timeout = process.env.DB_TIMEOUT_MS;
  if (timeout !== undefined && timeout !== '' && !/^[1-9][0-9]{0,8}$/.test(timeout)) {
    throw new Usage(`DB_TIMEOUT_MS must be a positive whole number of milliseconds, not ${JSON.stringify(timeout)}`);
  }
  return timeout ? Number(timeout) : undefined;
}
function open(): DataLayer {
  return (db ??= openDataLayer(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, {
    databaseTimeoutMs: databaseTimeoutMs(),
    // One command at a time: the async drivers need no more than one connection.
    poolSize: 1,
  }));
}

try {
  const argv = process.argv.slice(2);
  // Every command brings the database to this version's schema first, as the server does.
  const commands = ['list', 'add-user', 'delete-user', 'export', 'migrate'];
  const migration = commands.includes(argv[0]!)
    ? await migrate(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, { databaseTimeoutMs: databaseTimeoutMs() })
    : { applied: [], version: '' };
  const output = run(argv, migration);
  if (output !== undefined) console.log(output);
} catch (error) {
  const e = error as Error & { code?: string };
  if (error instanceof Usage) {
    console.error(`error: ${e.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof Refused || e.code === 'EMAIL_TAKEN') {
    console.error(`error: ${e.message}`);
    process.exitCode = 1;
  } else if (
    ['DATABASE_UNAVAILABLE', 'INVALID_DATABASE_URL', 'SCHEMA_UPGRADE', 'SCHEMA_VERSION'].includes(e.code ?? '')
  ) {
    console.error(`error: ${e.message}`);
    process.exitCode = 3;
  } else {
    // A message, not a stack: the stack is for a developer, who can set NODE_DEBUG=users-cli.
    console.error(`error: unexpected failure: ${e instanceof Error ? e.message : String(error)}`);
    if (process.env.NODE_DEBUG?.includes('users-cli')) console.error(e instanceof Error ? e.stack : error);
    process.exitCode = 4;
  }
} finally {
  try {
    // Here for a synchronous driver; on the bridge worker, where its connections are, for an async one.
    db?.close.sync();
  } catch {
    // The connection is already gone; nothing left to release.
  }
}
