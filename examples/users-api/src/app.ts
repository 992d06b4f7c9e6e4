import accepts from '@fastify/accepts';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { trace } from '@opentelemetry/api';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { Type } from 'typebox';
import type { ManagerOptions } from './db/manager.ts';
import { callTimeoutMs, type DataMode, type OpenStore, openStore } from './db/store.ts';
import { DEFAULT_DATABASE_URL } from './db/url.ts';
import { EXPORT_TYPES, streamExport } from './export.ts';
import { HTTP_TIMEOUTS, type HttpTimeouts } from './http-timeouts.ts';
import { registerMetrics } from './metrics.ts';
import { requestContext } from './request-context.ts';
import * as S from './schemas.ts';
import { tracesWanted } from './telemetry-env.ts';
import { validatorCompiler } from './validation.ts';

export interface AppOptions extends ManagerOptions {
  /** Defaults to `sqlite:users.db`; see parseDatabaseUrl. */
  databaseUrl?: string;
  /** How the blocking data layer is called; defaults to `smartasync-auto` (see DataMode). */
  mode?: DataMode;
  /** A ready data layer (benchmarks bring their own); the app does not close it. */
  store?: OpenStore;
  logger?: FastifyServerOptions['logger'];
  /** Bounds on slow HTTP clients; each defaults to HTTP_TIMEOUTS'. */
  httpTimeouts?: Partial<HttpTimeouts>;
}

/** Data-layer and smartasync error codes, the HTTP status they mean, and for 5xx the detail sent. */
const STATUS_BY_CODE: Record<string, number> = {
  EMAIL_TAKEN: 400,
  INVALID_TRANSFER: 400,
  INVALID_ACCOUNT: 400,
  ACCOUNT_NOT_FOUND: 404,
  INSUFFICIENT_FUNDS: 409,
  BALANCE_LIMIT: 409,
  INVALID_NAME: 400,
  DATABASE_UNAVAILABLE: 503,
  // The per-call timeout passed: the database did not answer, or (not started) no worker was free.
  ERR_SMARTASYNC_TIMEOUT: 503,
  // A call cancelled before it settled: the export, when its client went away before it started.
  ERR_SMARTASYNC_ABORTED: 503,
  // The pool cannot start a worker thread just now (it tries again after a back-off).
  ERR_SMARTASYNC_WORKER_START: 503,
  // The export waited past its deadline for a free worker (./db/store.ts).
  SERVER_BUSY: 503,
  ERR_SMARTASYNC_QUEUE_FULL: 503,
  ERR_SMARTASYNC_CLOSED: 503,
  // A call that shared a worker with one that timed out and was terminated.
  ERR_SMARTASYNC_WORKER_CRASHED: 503,
  // The same deadline, kept by the store for the async drivers (whose calls smartasync runs here).
  DEADLINE: 503,
};
const DETAIL_5XX: Record<string, string> = {
  ERR_SMARTASYNC_QUEUE_FULL: 'Server busy: too many requests are waiting for the database',
  ERR_SMARTASYNC_CLOSED: 'Server shutting down',
  ERR_SMARTASYNC_ABORTED: 'Request cancelled before it finished',
  ERR_SMARTASYNC_WORKER_START: 'Server cannot start its worker threads just now',
};

/**
 * The detail of a 503 or 500: what went wrong, without the database's address or a stack. A
 * call that timed out before it started waited for a worker: the server was busy, not the
 * database, and the detail says so.
 */
function detail5xx(error: FastifyError & { started?: unknown }, status: number, timeoutMs: number): string {
  const fixed = DETAIL_5XX[error.code];
  if (fixed) return fixed;
  if (error.code === 'SERVER_BUSY' || (error.code === 'ERR_SMARTASYNC_TIMEOUT' && error.started === false))
    return `Server busy: no worker was free to run the request within ${timeoutMs} ms`;
  if (error.code === 'ERR_SMARTASYNC_TIMEOUT' || error.code === 'DEADLINE')
    return `Database did not answer within ${timeoutMs} ms`;
  return status === 503 ? 'Database unavailable' : 'Internal server error';
}

/** The error body, with what each status means on this API: every status a route can answer is documented. */
const problem = (description: string) => Type.Object({ detail: Type.String() }, { description });
const P = {
  400: problem('Invalid id (ids are integers from 1 to 2147483647), body or URL; or a refused write (see detail)'),
  404: problem('No such resource'),
  406: problem('None of the media types the Accept header allows can be produced'),
  409: problem('Refused by the current state (see detail)'),
  413: problem('Body larger than 1 MiB'),
  415: problem('Body is not application/json'),
  500: problem('Unexpected failure; the server log has the details'),
  503: problem(
    'The database is unavailable or did not answer in time, or the server is busy or shutting down; retry later',
  ),
} as const;
/** Statuses every database-backed route can answer. */
const DB = { 500: P[500], 503: P[503] } as const;
/** Statuses of reading a JSON body (Fastify reads one on DELETE too). */
const BODY = { 400: P[400], 413: P[413], 415: P[415] } as const;

const userNotFound = { detail: 'User not found' };

/** Fastify logs a request twice (received, completed); an access log wants one line. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    const message = `${request.method} ${request.url} ${reply.statusCode}`;
    if (error) reply.log.error({ ...line, err: error }, message);
    else reply.log.info(line, message);
  }
}

export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const opened =
    options.store ??
    (await openStore(options.databaseUrl ?? DEFAULT_DATABASE_URL, options.mode ?? 'smartasync-auto', {
      reportCost: options.reportCost,
      databaseTimeoutMs: options.databaseTimeoutMs,
      poolSize: options.poolSize,
      log: options.log,
    }));
  const { store } = opened;

  const timeouts = { ...HTTP_TIMEOUTS, ...options.httpTimeouts };
  const app = Fastify({
    logger: options.logger ?? false,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // How often Node checks the two above: by default every 30 s, which would let a stalled
      // request live up to 30 s past its bound.
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(timeouts.headersMs / 4)),
    },
    logController: new OneLinePerRequest(),
    // A URL Fastify cannot decode (`/users/%`) is a 400 in our error format, not Fastify's.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      void reply.code(400).send({ detail: error.message });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // The request's id travels with every database call it makes, into the workers too
  // (carryContext): the data layer's log lines name it. Entered last, just before the handler,
  // so that it holds for the handler's whole async chain (a body read from the socket would run
  // outside a context entered earlier).
  app.addHook('preHandler', (request, _reply, done) => requestContext.run({ reqId: request.id }, done));
  // With tracing on (OTEL_*, ./tracing.ts), the HTTP instrumentation's span for the request is
  // named after its route, as the semantic conventions ask (`GET /users/:id`).
  if (tracesWanted())
    app.addHook('onRequest', async (request) => {
      const route = request.routeOptions.url;
      const span = trace.getActiveSpan();
      if (!span || !route) return;
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.route', route);
    });
  // Bodies are JSON only; Fastify would also read text/plain, to fail later as "body must be object".
  app.removeContentTypeParser('text/plain');
  const timeoutMs = callTimeoutMs(options);
  if (!options.store) app.addHook('onClose', () => opened.close());
  // On close, Node stops accepting and drops idle keep-alive connections, but one whose
  // request is still running would then sit idle until its keep-alive timeout:
  // ask the client to close it with the response.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    // The id the server's log lines (the workers' included) carry for this request.
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Users API',
        description: 'A REST API over a synchronous database layer, kept off the event loop by smartasync.',
        version: '1.0.0',
      },
      tags: [{ name: 'users' }, { name: 'accounts' }, { name: 'reports' }, { name: 'operations' }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(accepts);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const metrics = registerMetrics(app, opened.poolStats);
  if (opened.migration) {
    const { applied, version } = opened.migration;
    app.log.info({ applied, version }, applied.length > 0 ? 'database schema migrated' : 'database schema current');
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return reply.code(400).send({ detail: error.message });
    const status = STATUS_BY_CODE[error.code] ?? (error.statusCode && error.statusCode < 500 ? error.statusCode : 500);
    if (status < 500) return reply.code(status).send({ detail: error.message });
    // The log gets the details; the client does not need the database's address or a stack. A
    // client that went away (and so cancelled its call) is no failure of the server.
    if (request.socket.destroyed) request.log.info({ err: error }, 'client went away before the answer');
    else request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ detail: detail5xx(error, status, timeoutMs) });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not found' }));

  const users = { tags: ['users'] };
  app.get(
    '/users',
    { schema: { ...users, summary: 'List users by id', response: { 200: Type.Array(S.User), ...DB } } },
    () => store.getAllUsers(),
  );
  app.get(
    '/users/export',
    {
      schema: {
        ...users,
        summary: 'Export every user, streamed: NDJSON, or CSV with Accept: text/csv',
        description:
          'Every user in id order, read from the database as the client reads the response (a cursor, ' +
          'never the whole table in memory), from one snapshot of the table. application/x-ndjson: one ' +
          'JSON object a line. text/csv: a header line, then one line per user (RFC 4180 quoting; a cell ' +
          'starting with =, +, -, @, tab or carriage return is prefixed with a single quote). The status ' +
          'comes once the first chunk (up to 256 rows) is read: a failure after it cuts the response short ' +
          '(no final chunk). An export that cannot start in time is a 503 whose detail says why: the ' +
          'database did not answer, or every worker was busy (Server busy).',
        response: {
          200: {
            description: 'The users, streamed (for application/x-ndjson, the schema is that of each line)',
            content: {
              'application/x-ndjson': { schema: S.User },
              'text/csv': { schema: Type.String() },
            },
          },
          406: P[406],
          ...DB,
        },
      },
    },
    async (request, reply) => {
      const type = request.accepts().type([...EXPORT_TYPES]) as (typeof EXPORT_TYPES)[number] | false;
      if (!type)
        return reply.code(406).send({ detail: `The export is ${EXPORT_TYPES.join(' or ')}: ask for one in Accept` });
      const stop = new AbortController();
      return streamExport(reply, type, store.exportText(type, stop.signal), () => stop.abort(), timeoutMs);
    },
  );
  app.get(
    '/users/:id',
    {
      schema: {
        ...users,
        summary: 'Get a user',
        params: S.IdParams,
        response: { 200: S.User, 400: P[400], 404: P[404], ...DB },
      },
    },
    async (request, reply) => (await store.getUser(request.params.id)) ?? reply.code(404).send(userNotFound),
  );
  app.post(
    '/users',
    { schema: { ...users, summary: 'Create a user', body: S.UserInput, response: { 201: S.User, ...BODY, ...DB } } },
    async (request, reply) => reply.code(201).send(await store.createUser(request.body)),
  );
  app.put(
    '/users/:id',
    {
      schema: {
        ...users,
        summary: "Replace a user's name and email",
        params: S.IdParams,
        body: S.UserInput,
        response: { 200: S.User, ...BODY, 404: P[404], ...DB },
      },
    },
    async (request, reply) =>
      (await store.updateUser(request.params.id, request.body)) ?? reply.code(404).send(userNotFound),
  );
  app.delete(
    '/users/:id',
    {
      schema: {
        ...users,
        summary: 'Delete a user',
        params: S.IdParams,
        response: { 204: S.NoContent, ...BODY, 404: P[404], ...DB },
      },
    },
    async (request, reply) =>
      (await store.deleteUser(request.params.id)) ? reply.code(204).send(null) : reply.code(404).send(userNotFound),
  );

  const accounts = { tags: ['accounts'] };
  app.get(
    '/accounts',
    { schema: { ...accounts, summary: 'List accounts', response: { 200: Type.Array(S.Account), ...DB } } },
    () => store.getAllAccounts(),
  );
  app.get(
    '/accounts/:id',
    {
      schema: {
        ...accounts,
        summary: 'Get an account',
        params: S.IdParams,
        response: { 200: S.Account, 400: P[400], 404: P[404], ...DB },
      },
    },
    async (request, reply) =>
      (await store.getAccount(request.params.id)) ?? reply.code(404).send({ detail: 'Account not found' }),
  );
  app.post(
    '/accounts',
    {
      schema: {
        ...accounts,
        summary: 'Open an account',
        body: S.AccountInput,
        response: { 201: S.Account, ...BODY, 409: P[409], ...DB },
      },
    },
    async (request, reply) => reply.code(201).send(await store.createAccount(request.body)),
  );
  app.post(
    '/transfers',
    {
      schema: {
        ...accounts,
        summary: 'Move money between two accounts, atomically',
        body: S.TransferInput,
        response: { 201: S.Transfer, ...BODY, 404: P[404], 409: P[409], ...DB },
      },
    },
    async (request, reply) => reply.code(201).send(await store.transfer(request.body)),
  );

  app.get(
    '/reports/users',
    {
      schema: {
        tags: ['reports'],
        summary: 'The legacy users report (deliberately slow, synchronous)',
        response: { 200: S.UsersReport, ...DB },
      },
    },
    () => store.usersReport(),
  );

  const operations = { tags: ['operations'] };
  app.get(
    '/health',
    {
      schema: {
        ...operations,
        summary: 'Liveness: the event loop answers (the database is not asked)',
        response: { 200: S.Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  // A readiness probe asks the database, the way requests do (through a worker); a stalled
  // database makes it answer 503 within READY_TIMEOUT_MS rather than hang.
  const ping = opened.ping ?? (() => store.getUser(1));
  app.get(
    '/ready',
    {
      schema: {
        ...operations,
        summary: 'Readiness: the database answers a query in time',
        response: { 200: S.Ready, 503: P[503] },
      },
    },
    async (request, reply) => {
      try {
        await ping();
        return { status: 'ready' as const, database: 'ok' as const };
      } catch (error) {
        request.log.warn({ err: error }, 'not ready');
        return reply.code(503).send({ detail: `Database unavailable: ${(error as Error).message}` });
      }
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        ...operations,
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: { 200: Type.String(), 500: P[500] },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
  );

  return app;
}

const WARM_PATHS = ['/health', '/users/1', '/accounts/1'];
/** How many times warmUp() requests each of its paths. */
export const WARM_ROUNDS = 30;

/**
 * Runs read-only routes once in-process, before the server listens, so that the first real
 * request finds the handlers compiled, the response serializers built and every worker's
 * connection open, and costs what the hundredth does.
 */
export async function warmUp(app: FastifyInstance): Promise<void> {
  const started = performance.now();
  const level = app.log.level;
  app.log.level = 'silent'; // not client requests: kept out of the access log
  // Real HTTP over loopback, through a throwaway server on the app's own router: the socket,
  // the HTTP parser and the response path warm up too, which app.inject() would skip.
  await app.ready();
  const server = http.createServer((req, res) => app.routing(req, res));
  try {
    // Exclusive: under src/cluster.ts a plain listen(0) goes through the primary, which gives
    // every process the same port and deals its connections round-robin, so a process's
    // warm-up requests reached a sibling's warm-up server, or a killed one's (fetch failed).
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve));
    const { port } = server.address() as AddressInfo;
    // Rounds of every path, a few connections at once: each code path must run often enough
    // for V8 to compile it optimized, not once (3 rounds left the first requests at 2-5x warm).
    const get = (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } }).then((r) => r.arrayBuffer());
    for (let i = 0; i < WARM_ROUNDS; i++) await Promise.all(WARM_PATHS.map(get));
  } finally {
    server.close();
    app.log.level = level;
  }
  // One line through the access log's path (a child logger, a few fields, a JSON line), so the
  // first client request does not pay for it either. It is not an access line: no url/statusCode.
  app.log
    .child({ reqId: 'warm-up' })
    .info(
      { requests: WARM_PATHS.length * WARM_ROUNDS, ms: Math.round(performance.now() - started) },
      'routes warmed up before listening',
    );
}
