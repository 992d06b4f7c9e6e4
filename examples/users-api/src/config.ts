// The environment the server, the cluster and the CLI read: one TypeBox schema, checked by
// env-schema (Ajv) at start. Each bad value is named with what it must be, and the process
// exits 2 (see exitOnBadConfig).
import envSchema from 'env-schema';
import { type Static, type TSchema, Type } from 'typebox';
import { CALL_TIMEOUT_MARGIN_MS, DEFAULT_DATABASE_TIMEOUT_MS } from './db/drivers/driver.ts';
import { DEFAULT_DATABASE_URL } from './db/url.ts';
import { HTTP_TIMEOUTS } from './http-timeouts.ts';

/**
 * A whole number written in decimal digits, from `minimum` to `maximum`. Ajv's coercion alone
 * would also read `1e3` as 1000, `0x10` as 16 and ` 8` as 8: the digits are checked on the text
 * first, then the range on the number it becomes.
 */
function wholeNumber(minimum: number, maximum: number, what: string, fallback?: number, note = '') {
  return Type.Unsafe<number>({
    allOf: [Type.String({ pattern: '^[0-9]+$' }), Type.Integer({ minimum, maximum })],
    description: `${what} from ${minimum} to ${maximum}${note}`,
    ...(fallback === undefined ? {} : { default: String(fallback) }),
  } as TSchema);
}

// setTimeout() holds at most 2^31 - 1 ms, and PostgreSQL's timeouts (2 x DB_TIMEOUT_MS) as much:
// an hour keeps every bound derived from these well inside.
const HOUR_MS = 3_600_000;
const milliseconds = (fallback: number) => wholeNumber(1, HOUR_MS, 'a whole number of milliseconds', fallback);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DATA_MODES = ['smartasync', 'smartasync-auto', 'inline'] as const;

/**
 * Pool workers (database calls, exports) run this many nice steps below the event loop: when
 * every core is busy (CPU-bound exports, the database server), the kernel runs the loop that
 * answers requests first. Measured with scripts/export-floor.ts (8 exports over better-sqlite3):
 * /health p99 31-35 ms with the workers alongside the loop, 6-10 ms at 10.
 */
export const WORKER_NICE = 10;

/** Every variable the app reads, with its default; README: Run it. */
export const Environment = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'an address to listen on' }),
  PORT: wholeNumber(0, 65_535, 'a port number', 8000, ' (0: any free port)'),
  DATABASE_URL: Type.String({ minLength: 1, default: DEFAULT_DATABASE_URL, description: 'a database URL' }),
  DATA_MODE: Type.Enum(DATA_MODES, { default: 'smartasync-auto', description: `one of ${DATA_MODES.join(', ')}` }),
  LOG_LEVEL: Type.Enum(LOG_LEVELS, { default: 'info', description: `one of ${LOG_LEVELS.join(', ')}` }),
  // Node's PBKDF2 takes at most 2^31 - 1 iterations. Unset: the data layer's default.
  REPORT_COST: Type.Optional(wholeNumber(1, 2_147_483_647, 'a whole number of PBKDF2 iterations')),
  DB_TIMEOUT_MS: milliseconds(DEFAULT_DATABASE_TIMEOUT_MS),
  // The data layer logs statements that take this long (0: every statement), with the request's id.
  DB_SLOW_QUERY_MS: wholeNumber(0, HOUR_MS, 'a whole number of milliseconds', 200, ' (0: every statement)'),
  // Unset: smartasync's pool size (one worker per core), or an async driver's default pool.
  DB_POOL_SIZE: Type.Optional(wholeNumber(1, 1_024, 'a whole number of connections')),
  // How far below the event loop smartasync's worker threads run (Linux nice steps; 0: alongside).
  DB_WORKER_NICE: wholeNumber(0, 19, 'a whole number of nice steps', WORKER_NICE),
  SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),
  // Unset: one process per core.
  WEB_CONCURRENCY: Type.Optional(wholeNumber(1, 1_024, 'a whole number of processes')),
  HTTP_HEADERS_TIMEOUT_MS: milliseconds(HTTP_TIMEOUTS.headersMs),
  HTTP_REQUEST_TIMEOUT_MS: milliseconds(HTTP_TIMEOUTS.requestMs),
  HTTP_IDLE_TIMEOUT_MS: milliseconds(HTTP_TIMEOUTS.idleMs),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: milliseconds(HTTP_TIMEOUTS.keepAliveMs),
});
export type Config = Static<typeof Environment>;
type Name = keyof Config;

/** The environment cannot be used: `problems` has one line per bad variable. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * The variables `names` (default: all) from `env`, with their defaults. An empty variable counts
 * as unset (`PORT= npm start`). Throws a ConfigError listing every bad value.
 */
export function readConfig<K extends Name = Name>(
  env: NodeJS.ProcessEnv = process.env,
  names: readonly K[] = Object.keys(Environment.properties) as K[],
): Pick<Config, K> {
  const schema = Type.Pick(Environment, names as unknown as K[]);
  const data = Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  let config: Pick<Config, K>;
  try {
    config = envSchema<Pick<Config, K>>({ schema: structuredClone(schema), data, env: false });
  } catch (error) {
    const errors = (error as { errors?: { instancePath: string }[] }).errors;
    if (!errors) throw error;
    const bad = [...new Set(errors.map((e) => e.instancePath.slice(1) as K))];
    throw new ConfigError(bad.map((name) => `${name} must be ${describe(name)}, not ${JSON.stringify(env[name])}`));
  }
  const problems = crossChecks(config as Partial<Config>);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * For the server and the cluster: the whole environment, or, if it cannot be used, one line per
 * bad value on stderr and exit 2 (as a bad command line: nothing was started).
 */
export function readConfigOrExit(): Config {
  try {
    return readConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`users-api cannot start: ${problem}`);
    process.exit(2);
  }
}

const describe = (name: Name) => (Environment.properties[name] as unknown as { description: string }).description;

/** Rules between variables. */
function crossChecks(config: Partial<Config>): string[] {
  const problems: string[] = [];
  const { HTTP_HEADERS_TIMEOUT_MS: headers, HTTP_REQUEST_TIMEOUT_MS: request, HTTP_IDLE_TIMEOUT_MS: idle } = config;
  if (headers !== undefined && request !== undefined && headers > request)
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS (${headers}) must be at most HTTP_REQUEST_TIMEOUT_MS (${request}): the headers are part of the request`,
    );
  const answered = (config.DB_TIMEOUT_MS ?? DEFAULT_DATABASE_TIMEOUT_MS) + CALL_TIMEOUT_MARGIN_MS;
  if (idle !== undefined && idle <= answered)
    problems.push(
      `HTTP_IDLE_TIMEOUT_MS (${idle}) must be more than DB_TIMEOUT_MS + ${CALL_TIMEOUT_MARGIN_MS} (${answered}): ` +
        'a request may wait that long for the database, silent, before it is answered',
    );
  return problems;
}

/** What src/main.ts tells src/cluster.ts's primary once it listens: from then on it has started. */
export const LISTENING = 'users-api:listening';
