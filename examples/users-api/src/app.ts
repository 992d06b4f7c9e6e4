import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
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
import type { ManagerOptions } from './db/manager.ts';
import { type DataMode, type OpenStore, openStore } from './db/store.ts';
import { DEFAULT_DATABASE_URL } from './db/url.ts';
import { registerMetrics } from './metrics.ts';
import * as S from './schemas.ts';
import { validatorCompiler } from './validation.ts';

export interface AppOptions extends ManagerOptions {
  /** Defaults to `sqlite:users.db`; see parseDatabaseUrl. */
  databaseUrl?: string;
  /** How the blocking data layer is called; defaults to `smartasync`. */
  mode?: DataMode;
  /** A ready data layer (benchmarks bring their own); the app does not close it. */
  store?: OpenStore;
  logger?: FastifyServerOptions['logger'];
}

/** Data-layer error codes and the HTTP status they mean. */
const STATUS_BY_CODE: Record<string, number> = {
  EMAIL_TAKEN: 400,
  INVALID_TRANSFER: 400,
  ACCOUNT_NOT_FOUND: 404,
  INSUFFICIENT_FUNDS: 409,
  DATABASE_UNAVAILABLE: 503,
};

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
    (await openStore(options.databaseUrl ?? DEFAULT_DATABASE_URL, options.mode ?? 'smartasync', {
      reportCost: options.reportCost,
    }));
  const { store } = opened;

  const app = Fastify({ logger: options.logger ?? false, logController: new OneLinePerRequest() }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  if (!options.store) app.addHook('onClose', () => opened.close());
  // On close, Node stops accepting and drops idle keep-alive connections, but one whose
  // request is still running would then sit idle until its keep-alive timeout (72 s):
  // ask the client to close it with the response.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const metrics = registerMetrics(app, opened.poolStats);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return reply.code(400).send({ detail: error.message });
    const status = STATUS_BY_CODE[error.code] ?? (error.statusCode && error.statusCode < 500 ? error.statusCode : 500);
    if (status < 500) return reply.code(status).send({ detail: error.message });
    // The log gets the details; the client does not need the database's address or a stack.
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ detail: status === 503 ? 'Database unavailable' : 'Internal server error' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not found' }));

  const users = { tags: ['users'] };
  app.get('/users', { schema: { ...users, summary: 'List users by id', response: { 200: { type: 'array', items: S.User } } } }, () =>
    store.getAllUsers(),
  );
  app.get(
    '/users/:id',
    { schema: { ...users, summary: 'Get a user', params: S.IdParams, response: { 200: S.User, 404: S.Problem } } },
    async (request, reply) => (await store.getUser(request.params.id)) ?? reply.code(404).send(userNotFound),
  );
  app.post(
    '/users',
    { schema: { ...users, summary: 'Create a user', body: S.UserInput, response: { 201: S.User, 400: S.Problem } } },
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
        response: { 200: S.User, 400: S.Problem, 404: S.Problem },
      },
    },
    async (request, reply) => (await store.updateUser(request.params.id, request.body)) ?? reply.code(404).send(userNotFound),
  );
  app.delete(
    '/users/:id',
    { schema: { ...users, summary: 'Delete a user', params: S.IdParams, response: { 204: S.NoContent, 404: S.Problem } } },
    async (request, reply) =>
      (await store.deleteUser(request.params.id)) ? reply.code(204).send(null) : reply.code(404).send(userNotFound),
  );

  const accounts = { tags: ['accounts'] };
  app.get('/accounts', { schema: { ...accounts, summary: 'List accounts', response: { 200: { type: 'array', items: S.Account } } } }, () =>
    store.getAllAccounts(),
  );
  app.get(
    '/accounts/:id',
    { schema: { ...accounts, summary: 'Get an account', params: S.IdParams, response: { 200: S.Account, 404: S.Problem } } },
    async (request, reply) => (await store.getAccount(request.params.id)) ?? reply.code(404).send({ detail: 'Account not found' }),
  );
  app.post(
    '/accounts',
    { schema: { ...accounts, summary: 'Open an account', body: S.AccountInput, response: { 201: S.Account, 400: S.Problem } } },
    async (request, reply) => reply.code(201).send(await store.createAccount(request.body)),
  );
  app.post(
    '/transfers',
    {
      schema: {
        ...accounts,
        summary: 'Move money between two accounts, atomically',
        body: S.TransferInput,
        response: { 201: S.Transfer, 400: S.Problem, 404: S.Problem, 409: S.Problem },
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
        response: { 200: S.UsersReport },
      },
    },
    () => store.usersReport(),
  );

  const operations = { tags: ['operations'] };
  app.get('/health', { schema: { ...operations, summary: 'Liveness', response: { 200: S.Health } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get(
    '/metrics',
    { schema: { ...operations, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: { type: 'string' } } } },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
  );

  return app;
}

/**
 * Runs read-only routes once in-process, before the server listens, so that the first real
 * request finds the handlers compiled, the response serializers built and every worker's
 * connection open, and costs what the hundredth does.
 */
export async function warmUp(app: FastifyInstance): Promise<void> {
  const level = app.log.level;
  app.log.level = 'silent'; // not client requests: kept out of the access log
  // Real HTTP over loopback, through a throwaway server on the app's own router: the socket,
  // the HTTP parser and the response path warm up too, which app.inject() would skip.
  await app.ready();
  const server = http.createServer((req, res) => app.routing(req, res));
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    for (const path of ['/health', '/users/1', '/accounts/1']) {
      for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } })).arrayBuffer();
    }
  } finally {
    server.close();
    app.log.level = level;
  }
}
