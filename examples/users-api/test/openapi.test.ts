// The generated OpenAPI document lists every route with its schemas, and Swagger UI serves it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { testDatabases, type TestDatabases } from './support/databases.ts';
import { conformance, type OpenApiDocument } from './support/openapi.ts';
import { setUpPool, TEST_MODE } from './support/pool.ts';

const ROUTES: Record<string, string[]> = {
  '/users': ['get', 'post'],
  '/users/{id}': ['get', 'put', 'delete'],
  '/users/export': ['get'],
  '/accounts': ['get', 'post'],
  '/accounts/{id}': ['get'],
  '/transfers': ['post'],
  '/reports/users': ['get'],
  '/health': ['get'],
  '/ready': ['get'],
  '/metrics': ['get'],
};

let databases: TestDatabases;
let app: FastifyInstance;
before(async () => {
  setUpPool();
  databases = await testDatabases({ mariadb: false });
  app = await buildApp({ databaseUrl: databases.freshUrl('better-sqlite3'), mode: 'inline' });
});
after(async () => {
  await app.close();
  databases.stop();
});

test('/openapi.json lists every route, each with a summary and its responses', async () => {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(response.statusCode, 200);
  const doc = response.json();
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.info.title, 'Users API');
  const listed = Object.fromEntries(
    Object.entries(doc.paths as Record<string, object>).map(([path, ops]) => [path, Object.keys(ops).sort()]),
  );
  assert.deepEqual(
    listed,
    Object.fromEntries(Object.entries(ROUTES).map(([path, methods]) => [path, [...methods].sort()])),
  );

  for (const [path, methods] of Object.entries(ROUTES)) {
    for (const method of methods) {
      const operation = doc.paths[path][method];
      assert.equal(typeof operation.summary, 'string', `${method} ${path}`);
      assert.ok(
        Object.keys(operation.responses).some((status) => status.startsWith('2')),
        `${method} ${path}`,
      );
      // Every documented operation is a real route.
      assert.ok(
        app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }),
        `${method} ${path}`,
      );
    }
  }
  const create = doc.paths['/users'].post;
  const body = create.requestBody.content['application/json'].schema;
  assert.deepEqual(body.required, ['name', 'email']);
  assert.equal(body.properties.email.format, 'email');
  assert.ok(create.responses['400'], 'duplicate email and invalid body are documented');
  assert.ok(doc.paths['/users/{id}'].get.responses['404']);
  assert.deepEqual(Object.keys(doc.paths['/transfers'].post.responses).sort(), [
    '201',
    '400',
    '404',
    '409',
    '413',
    '415',
    '500',
    '503',
  ]);
});

test('/docs serves Swagger UI over the same document', async () => {
  const page = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.match(page.body, /swagger/i);
  const json = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.deepEqual(json.json(), (await app.inject({ method: 'GET', url: '/openapi.json' })).json());
});

// Every status the server can answer is in the document with its schema, and every documented
// status (bar 500, a bug by definition) is one the server really answers: a request for each,
// through real HTTP, on PostgreSQL (stopped for the 503s).
test('the statuses the server answers are exactly the documented ones, each body matching its schema', async () => {
  const url = databases.freshUrl('postgres');
  const served = await buildApp({ databaseUrl: url, mode: TEST_MODE, reportCost: 1000, databaseTimeoutMs: 1000 });
  try {
    await served.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(served.server.address() as { port: number }).port}`;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
    const check = conformance(doc);
    const seen = new Set<string>();
    const problems: string[] = [];
    const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const response = await fetch(`${base}${path}`, {
        method,
        headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: payload,
      });
      const text = await response.text();
      problems.push(
        ...check.check(method, path, response.status, response.headers.get('content-type') ?? undefined, text),
      );
      seen.add(`${method} ${check.route(method, path)} ${response.status}`);
      return { status: response.status, json: () => JSON.parse(text) };
    };

    const user = (await send('POST', '/users', { name: 'Doc', email: 'doc@example.com' })).json();
    const a = (await send('POST', '/accounts', { owner: 'A', balance: 100 })).json();
    const b = (await send('POST', '/accounts', { owner: 'B', balance: 0 })).json();
    await send('GET', '/users');
    await send('GET', `/users/${user.id}`);
    await send('PUT', `/users/${user.id}`, { name: 'Doc 2', email: 'doc@example.com' });
    await send('GET', '/accounts');
    await send('GET', `/accounts/${a.id}`);
    await send('POST', '/transfers', { from: a.id, to: b.id, amount: 1 });
    await send('GET', '/reports/users');
    await send('GET', '/health');
    await send('GET', '/ready');
    await send('GET', '/metrics');
    await send('GET', '/users/export');
    await send('GET', '/users/export', undefined, { accept: 'text/csv' });
    await send('GET', '/users/export', undefined, { accept: 'application/xml' }); // 406
    const spare = (await send('POST', '/users', { name: 'Spare', email: 'spare@example.com' })).json();
    await send('DELETE', `/users/${spare.id}`);

    const big = 'x'.repeat(1_100_000);
    for (const [method, path] of [
      ['POST', '/users'],
      ['PUT', `/users/${user.id}`],
      ['DELETE', `/users/${user.id}`],
      ['POST', '/accounts'],
      ['POST', '/transfers'],
    ]) {
      await send(method!, path!, '{"name":', {}); // malformed JSON: 400
      await send(method!, path!, `{"pad":"${big}"}`); // 413
      await send(method!, path!, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }); // 415
      await send(method!, path!, 'x', { 'content-type': 'text/plain' }); // 415 too
    }
    for (const id of ['0', 'abc', '2147483648', '%']) {
      await send('GET', `/users/${id}`);
      await send('DELETE', `/users/${id}`);
      await send('GET', `/accounts/${id}`);
      await send('PUT', `/users/${id}`, { name: 'X', email: 'x@example.com' });
    }
    for (const [method, path] of [
      ['GET', '/users/999999'],
      ['DELETE', '/users/999999'],
      ['GET', '/accounts/999999'],
    ])
      await send(method!, path!);
    await send('PUT', '/users/999999', { name: 'X', email: 'x@example.com' });
    await send('POST', '/transfers', { from: a.id, to: 999999, amount: 1 });
    await send('POST', '/transfers', { from: b.id, to: a.id, amount: 1000 }); // 409 insufficient funds
    await send('POST', '/accounts', { owner: 'Max', balance: Number.MAX_SAFE_INTEGER }); // 409 total limit

    databases.postgres.stopServer();
    try {
      for (const [method, path, body] of [
        ['GET', '/users'],
        ['GET', `/users/${user.id}`],
        ['POST', '/users', { name: 'Down', email: 'down@example.com' }],
        ['PUT', `/users/${user.id}`, { name: 'Down', email: 'down@example.com' }],
        ['DELETE', `/users/${user.id}`],
        ['GET', '/accounts'],
        ['GET', `/accounts/${a.id}`],
        ['POST', '/accounts', { owner: 'Down', balance: 1 }],
        ['POST', '/transfers', { from: a.id, to: b.id, amount: 1 }],
        ['GET', '/reports/users'],
        ['GET', '/ready'],
        ['GET', '/users/export'],
      ] as [string, string, unknown?][]) {
        const response = await send(method, path, body);
        assert.equal(response.status, 503, `${method} ${path} with the database stopped`);
      }
    } finally {
      databases.postgres.startServer();
    }

    assert.deepEqual(problems, []);
    const documented = new Set(
      check.operations
        .filter(([, path]) => path !== '/openapi.json')
        .flatMap(([method, path, operation]) =>
          Object.keys(operation.responses)
            .filter((s) => s !== '500')
            .map((s) => `${method} ${path} ${s}`),
        ),
    );
    assert.deepEqual([...documented].filter((s) => !seen.has(s)).sort(), [], 'documented but never answered');
    assert.deepEqual([...seen].filter((s) => !documented.has(s)).sort(), [], 'answered but not documented');
  } finally {
    await served.close();
  }
});
