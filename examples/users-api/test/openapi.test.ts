// The generated OpenAPI document lists every route with its schemas, and Swagger UI serves it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { testDatabases, type TestDatabases } from './support/databases.ts';

const ROUTES: Record<string, string[]> = {
  '/users': ['get', 'post'],
  '/users/{id}': ['get', 'put', 'delete'],
  '/accounts': ['get', 'post'],
  '/accounts/{id}': ['get'],
  '/transfers': ['post'],
  '/reports/users': ['get'],
  '/health': ['get'],
  '/metrics': ['get'],
};

let databases: TestDatabases;
let app: FastifyInstance;
before(async () => {
  databases = await testDatabases({ postgres: false });
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
  const listed = Object.fromEntries(Object.entries(doc.paths as Record<string, object>).map(([path, ops]) => [path, Object.keys(ops).sort()]));
  assert.deepEqual(listed, Object.fromEntries(Object.entries(ROUTES).map(([path, methods]) => [path, [...methods].sort()])));

  for (const [path, methods] of Object.entries(ROUTES)) {
    for (const method of methods) {
      const operation = doc.paths[path][method];
      assert.equal(typeof operation.summary, 'string', `${method} ${path}`);
      assert.ok(Object.keys(operation.responses).some((status) => status.startsWith('2')), `${method} ${path}`);
      // Every documented operation is a real route.
      assert.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`);
    }
  }
  const create = doc.paths['/users'].post;
  const body = create.requestBody.content['application/json'].schema;
  assert.deepEqual(body.required, ['name', 'email']);
  assert.equal(body.properties.email.format, 'email');
  assert.ok(create.responses['400'], 'duplicate email and invalid body are documented');
  assert.ok(doc.paths['/users/{id}'].get.responses['404']);
  assert.deepEqual(Object.keys(doc.paths['/transfers'].post.responses).sort(), ['201', '400', '404', '409']);
});

test('/docs serves Swagger UI over the same document', async () => {
  const page = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.match(page.body, /swagger/i);
  const json = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.deepEqual(json.json(), (await app.inject({ method: 'GET', url: '/openapi.json' })).json());
});
