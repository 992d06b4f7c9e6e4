// Admin CLI: the same data layer, called synchronously (`.sync`, no await). Over a synchronous
// driver the methods run right here; over an async one (mysql2, pg), on smartasync's bridge
// worker while this thread waits. Arguments are read by node:util's parseArgs.
import { writeSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { parseArgs } from 'node:util';
import type { DataLayer } from './db/async.ts';
import type { MigrateResult } from './db/migrate.ts';
import { DEFAULT_DATABASE_URL } from './db/url.ts';
import type { ExportType } from './export.ts';
import { MAX_ID, PATTERN_MEANINGS, UserInput } from './schemas.ts';

// A command is a short-lived process that compiles the same modules at every start: Node's
// on-disk compile cache makes a start after the first about 15% cheaper (`list` on SQLite, 12
// alternating runs: 669 -> 568 ms). Exported to the environment so that smartasync's bridge worker uses it too.
const compileCache = enableCompileCache();
if (compileCache.directory) process.env.NODE_COMPILE_CACHE ??= compileCache.directory;

// Loaded once the command line is understood and its arguments checked: `--help` and usage
// errors do without them, and never touch the database.
async function load() {
  const [config, data, migrations] = await Promise.all([
    import('./config.ts'),
    import('./db/async.ts'),
    import('./db/migrate.ts'),
  ]);
  return { config, data, migrations };
}
let modules: Awaited<ReturnType<typeof load>> | undefined;
const loaded = () => modules!;

const EXIT_CODES = `Exit codes: 0 done, 1 refused (duplicate email, no such user), 2 bad usage, 3 database unavailable,
DATABASE_URL unusable, or the database's schema cannot be upgraded or is newer than this version, 4 unexpected failure.`;

const USAGE = `Usage: npm run cli -- <command> [--help]

Commands:
  list                     list users
  add-user <name> <email>  create a user
  delete-user <id>         delete a user
  export [--csv]           every user to standard output, as NDJSON (or CSV), read as it is written
  migrate                  bring the database's schema up to date (every command does it first)
  help [<command>]         this text, or a command's

The database is DATABASE_URL (default ${DEFAULT_DATABASE_URL}): sqlite:PATH, node-sqlite:PATH, postgres://...,
postgres+pg://... or mysql://...
DB_TIMEOUT_MS (default 5000) bounds each wait on the database (see the README).
${EXIT_CODES}`;

class Usage extends Error {}
class Refused extends Error {}

interface Command {
  /** The command line, as in the usage text. */
  usage: string;
  /** What `<command> --help` adds to it. */
  help: string;
  /** Names of the positional arguments, all required. */
  positionals: string[];
  /** Its options, as parseArgs takes them (boolean flags only, so far). */
  flags?: Record<string, { description: string }>;
  /** Refuses bad arguments (a Usage error) before anything is loaded or the database is touched. */
  check?(args: string[]): void | Promise<void>;
  /** Runs once the database is migrated (`migration`: what that did); returns what to print. */
  run(args: string[], flags: Record<string, boolean>, migration: MigrateResult): string | undefined;
}

const COMMANDS: Record<string, Command> = {
  list: {
    usage: 'list',
    help: 'Lists every user by id: "<id>  <name> <email>", one a line.',
    positionals: [],
    run() {
      const users = open().getAllUsers.sync();
      if (users.length === 0) return 'No users.';
      const width = Math.max(...users.map((u) => String(u.id).length));
      return users.map((u) => `${String(u.id).padStart(width)}  ${u.name} <${u.email}>`).join('\n');
    },
  },
  'add-user': {
    usage: 'add-user <name> <email>',
    help:
      'Creates a user. <name> needs a visible character, and no control, line-separator or bidirectional\n' +
      'characters; <email> is printable ASCII, unique ignoring case. A name starting with "-" goes after "--":\n' +
      'add-user -- "-Eve-" eve@example.com. Exit 1 if the email is taken.',
    positionals: ['name', 'email'],
    async check([name, email]) {
      const input = { name: name!, email: email! };
      const { Value } = await import('typebox/value');
      if (!Value.Check(UserInput, input)) {
        const errors = [...Value.Errors(UserInput, input)].map((e) => {
          const meaning = e.keyword === 'pattern' ? PATTERN_MEANINGS[String(e.params.pattern)] : undefined;
          return `${e.instancePath.slice(1)} ${meaning ?? e.message}`;
        });
        throw new Usage(`invalid user: ${errors.join('; ')}`);
      }
    },
    run([name, email]) {
      const user = open().createUser.sync({ name: name!, email: email! });
      return `Created user ${user.id}: ${user.name} <${user.email}>`;
    },
  },
  'delete-user': {
    usage: 'delete-user <id>',
    help: `Deletes a user. <id> is a decimal integer from 1 to ${MAX_ID}. Exit 1 if there is no such user.`,
    positionals: ['id'],
    check([text]) {
      parseId(text!);
    },
    run([text]) {
      const id = parseId(text!);
      if (!open().deleteUser.sync(id)) throw new Refused(`User ${id} not found`);
      return `Deleted user ${id}`;
    },
  },
  export: {
    usage: 'export [--csv]',
    help:
      'Writes every user to standard output in id order, as NDJSON, or CSV with --csv (cells starting with\n' +
      '=, +, -, @, tab or CR get a leading quote), at the pace of the reader: `export | head` stops the query.',
    positionals: [],
    flags: { csv: { description: 'CSV instead of NDJSON' } },
    run(_args, flags) {
      exportUsers(flags.csv ? 'text/csv' : 'application/x-ndjson');
      return undefined;
    },
  },
  migrate: {
    usage: 'migrate',
    help:
      'Applies the migrations the database lacks, in order, each recorded in its schema_migrations table;\n' +
      'the server and every other command do the same first. A database that a newer version migrated is\n' +
      'refused (exit 3), and so is one whose rows break a rule a migration adds (the error names them).',
    positionals: [],
    // The migration itself runs before every command (see main); this one only reports it.
    run: (_args, _flags, { applied, version }) =>
      applied.length > 0
        ? `Applied ${applied.join(', ')}: the schema is at ${version}.`
        : `Nothing to apply: the schema is at ${version}.`,
  },
};

/** Decimal digits only: Number() would read 1e3 as 1000 and 0x10 as 16, and '' as 0. */
function parseId(text: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id <= MAX_ID))
    throw new Usage(`user id must be a decimal integer from 1 to ${MAX_ID}, not ${JSON.stringify(text)}`);
  return id;
}

const commandHelp = (command: Command) =>
  [
    `Usage: npm run cli -- ${command.usage}`,
    '',
    command.help,
    ...Object.entries(command.flags ?? {}).map(([flag, { description }]) => `  --${flag}  ${description}`),
    '',
    EXIT_CODES,
  ].join('\n');

/**
 * A command's arguments through parseArgs. Its tokens let an argument that looks like a negative
 * number (`delete-user -1`) reach the command as a positional, to be refused there with the
 * rule it breaks, rather than as an unknown option `-1`.
 */
function parseCommand(name: string, command: Command, argv: string[]) {
  const { tokens } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(Object.keys(command.flags ?? {}).map((flag) => [flag, { type: 'boolean' as const }])),
    },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const positionals: string[] = [];
  const flags: Record<string, boolean> = {};
  const asPositional = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') {
      if (/^-[0-9]/.test(argv[token.index]!)) {
        if (!asPositional.has(token.index)) positionals.push(argv[token.index]!);
        asPositional.add(token.index);
      } else if (token.name !== 'help' && !(token.name in (command.flags ?? {})))
        throw new Usage(`${name} has no option ${token.rawName}: ${command.usage}`);
      else if (token.value !== undefined) throw new Usage(`${token.rawName} takes no value: ${command.usage}`);
      else flags[token.name] = true;
    }
  }
  if (!flags.help && positionals.length !== command.positionals.length) {
    const n = command.positionals.length;
    throw new Usage(
      `${name} takes ${n === 0 ? 'no argument' : n === 1 ? 'one argument' : `${n} arguments`}: ${command.usage}`,
    );
  }
  return { positionals, flags };
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

/** `export`: `.sync()` of the export's text generator, written out chunk by chunk; breaking out closes its cursor. */
function exportUsers(type: ExportType): void {
  try {
    for (const text of open().exportText.sync(type)) writeOut(text);
  } catch (error) {
    if (!(error instanceof ReaderGone)) throw error;
  }
}

let db: DataLayer | undefined;
let settings: { DATABASE_URL: string; DB_TIMEOUT_MS: number } | undefined;
function open(): DataLayer {
  return (db ??= loaded().data.openDataLayer(settings!.DATABASE_URL, {
    databaseTimeoutMs: settings!.DB_TIMEOUT_MS,
    // One command at a time: the async drivers need no more than one connection.
    poolSize: 1,
  }));
}

/** Runs the command line `argv`; resolves with what to print, if anything. */
async function main(argv: string[]): Promise<string | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return USAGE;
  if (name === 'help') {
    if (rest.length === 0) return USAGE;
    const command = rest.length === 1 ? COMMANDS[rest[0]!] : undefined;
    if (!command) throw new Usage(`help takes a command name: one of ${Object.keys(COMMANDS).join(', ')}`);
    return commandHelp(command);
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
  if (!command) throw new Usage(`unknown command ${JSON.stringify(name)}`);
  const { positionals, flags } = parseCommand(name, command, rest);
  if (flags.help) return commandHelp(command);
  await command.check?.(positionals);
  modules = await load();
  const { ConfigError, readConfig } = modules.config;
  try {
    settings = readConfig(process.env, ['DATABASE_URL', 'DB_TIMEOUT_MS']);
  } catch (error) {
    if (error instanceof ConfigError) throw new Usage(error.message);
    throw error;
  }
  // Every command brings the database to this version's schema first, as the server does.
  const migration = await modules.migrations.migrate(settings.DATABASE_URL, {
    databaseTimeoutMs: settings.DB_TIMEOUT_MS,
  });
  return command.run(positionals, flags, migration);
}

try {
  const output = await main(process.argv.slice(2));
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
