// A property-based fuzzer driven by /openapi.json (fast-check): sequences of requests built from
// each operation's documented parameters and body schema, valid and invalid variants mixed
// (out-of-range and malformed ids, wrong types, missing and extra fields, hostile strings,
// malformed JSON, wrong content types), against the real server over HTTP. Every response must
// be a documented status with a body matching its documented schema and the right content
// type, never a 5xx; and the state must stay consistent: the total of balances is what the
// accepted account openings put in (transfers move money, never make it), and the users listed
// are the ones created and not deleted. The checks follow schemathesis' (server errors, status
// code and response schema conformance, content type).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { DRIVERS, type TestDatabases, needs, testDatabases } from './support/databases.ts';
import { conformance, type OpenApiDocument } from './support/openapi.ts';
import { setUpPool, TEST_MODE } from './support/pool.ts';

// Per driver: RUNS sequences of up to 30 requests (about 900 requests).
const RUNS = 60;
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  pattern?: string;
}

// Strings a careless or hostile client sends.
const hostile = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202eevil',
  '\u2066x\u2069',
  '\ud800',
  "Robert'); DROP TABLE users;--",
  '%',
  '../../etc/passwd',
  'x'.repeat(201),
  '😀'.repeat(60),
  'Zoë 李',
  '\t\n',
);

/**
 * Values for `schema`: mostly valid, some not, so both paths of every rule are taken; with
 * `validOnly`, valid ones only (a request whose every field is valid is otherwise rare).
 */
function valueFor(schema: JsonSchema, ids: fc.Arbitrary<number>, validOnly = false): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case 'integer': {
      const min = schema.minimum ?? -(2 ** 53 - 1);
      const max = schema.maximum ?? 2 ** 53 - 1;
      // Ids: mostly ones that exist. Money: mostly small, so that transfers can succeed, but
      // the whole range too, up to the limit where the total of balances is refused.
      const valid =
        schema.maximum === 2_147_483_647
          ? fc.oneof({ weight: 4, arbitrary: ids }, { weight: 1, arbitrary: fc.integer({ min, max }) })
          : fc.oneof(
              { weight: 8, arbitrary: fc.integer({ min, max: Math.min(max, 100) }) },
              { weight: 2, arbitrary: fc.integer({ min, max: Math.min(max, 100_000) }) },
              { weight: 1, arbitrary: fc.integer({ min, max }) },
            );
      if (validOnly) return valid;
      return fc.oneof(
        { weight: 6, arbitrary: valid },
        {
          weight: 1,
          arbitrary: fc.constantFrom(min - 1, max + 1, 1e300, -1e300, 0.5, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER),
        },
        { weight: 1, arbitrary: fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.double()) },
      );
    }
    case 'string': {
      const valid =
        schema.format === 'email'
          ? fc.emailAddress().filter((e) => e.length <= (schema.maxLength ?? 320))
          : fc.string({
              minLength: schema.minLength ?? 0,
              maxLength: Math.min(schema.maxLength ?? 40, 40),
              unit: 'grapheme',
            });
      if (validOnly) {
        const pattern = new RegExp(schema.pattern ?? '', 'u');
        return valid.filter((v) => pattern.test(v) && v.length >= (schema.minLength ?? 0));
      }
      return fc.oneof(
        { weight: 6, arbitrary: valid },
        { weight: 2, arbitrary: hostile },
        { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null)) },
      );
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const required = schema.required ?? Object.keys(properties);
      const complete = fc.record(
        Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valueFor(s, ids, validOnly)])),
      );
      if (validOnly) return complete;
      return fc.oneof(
        { weight: 8, arbitrary: complete },
        // A required field missing, an extra one, or not an object at all.
        {
          weight: 1,
          arbitrary: complete.chain((v) =>
            fc
              .constantFrom(...required)
              .map((k) => Object.fromEntries(Object.entries(v as object).filter(([key]) => key !== k))),
          ),
        },
        { weight: 1, arbitrary: complete.map((v) => ({ ...(v as object), extra: 'x', __proto__x: 1 })) },
        { weight: 1, arbitrary: fc.oneof(fc.constant([]), fc.constant(null), fc.string(), fc.integer()) },
      );
    }
    default:
      return fc.anything();
  }
}

interface Request {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  accept?: string;
}

function requests(doc: OpenApiDocument, ids: fc.Arbitrary<number>): fc.Arbitrary<Request> {
  const badId = fc.constantFrom(
    '0',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    'abc',
    '2147483648',
    '99999999999999999999',
    '%25',
    '%',
  );
  const operations = Object.entries(doc.paths)
    .filter(([path]) => path !== '/metrics')
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
    );
  return fc.oneof(
    ...operations.map(({ method, path, operation }) => {
      const idParam = operation.parameters?.find((p) => p.in === 'path');
      const pathArb = idParam
        ? fc
            .oneof({ weight: 5, arbitrary: ids.map(String) }, { weight: 1, arbitrary: badId })
            .map((id) => path.replace(/\{\w+\}/, id))
        : fc.constant(path);
      const bodySchema = operation.requestBody?.content['application/json']?.schema as JsonSchema | undefined;
      // An operation that answers several media types is asked for each, and for one it lacks.
      const answered = Object.keys(operation.responses['200']?.content ?? {});
      if (answered.length > 1) {
        return fc
          .tuple(pathArb, fc.constantFrom(undefined, ...answered, 'application/xml', '*/*'))
          .map(([p, accept]): Request => ({ method, path: p, accept }));
      }
      if (!bodySchema) return pathArb.map((p): Request => ({ method, path: p }));
      const asJson = (v: unknown) => ({ body: JSON.stringify(v) ?? 'null', contentType: 'application/json' });
      const body = fc.oneof(
        { weight: 10, arbitrary: valueFor(bodySchema, ids).map(asJson) },
        { weight: 6, arbitrary: valueFor(bodySchema, ids, true).map(asJson) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('{"name":', '', '{"a":1}{', '\u0000')
            .map((b) => ({ body: b, contentType: 'application/json' })),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded')
            .map((t) => ({ body: 'a=1', contentType: t })),
        },
      );
      return fc.tuple(pathArb, body).map(([p, b]): Request => ({ method, path: p, ...b }));
    }),
  );
}

for (const driver of DRIVERS) {
  describe(driver, needs(driver), () => {
    let app: FastifyInstance;
    let base: string;
    before(async () => {
      app = await buildApp({ databaseUrl: databases.freshUrl(driver), mode: TEST_MODE, reportCost: 1000 });
      await app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    });
    after(() => app?.close());

    test(
      `${RUNS} request sequences from /openapi.json: documented statuses and bodies, no 5xx, state consistent`,
      { timeout: 120_000 },
      async (t) => {
        const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
        const check = conformance(doc);
        // Ids that exist are likelier to be hit: the first few of each table, and some beyond.
        const ids = fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 12 }) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_147_483_647 }) },
        );
        let opened = 0;
        let created = 0;
        let deleted = 0;
        const statuses = new Map<string, number>();

        await fc.assert(
          fc.asyncProperty(
            fc.array(requests(doc, ids), { minLength: 1, maxLength: 30, size: 'max' }),
            async (sequence) => {
              for (const request of sequence) {
                const response = await fetch(`${base}${request.path}`, {
                  method: request.method,
                  headers: {
                    ...(request.contentType ? { 'content-type': request.contentType } : {}),
                    ...(request.accept ? { accept: request.accept } : {}),
                  },
                  body: request.body,
                });
                const text = await response.text();
                const where = `${request.method} ${request.path} ${request.accept ?? ''} ${request.body?.slice(0, 200) ?? ''} -> ${response.status} ${text.slice(0, 200)}`;
                assert.ok(response.status < 500, where);
                assert.deepEqual(
                  check.check(
                    request.method,
                    request.path,
                    response.status,
                    response.headers.get('content-type') ?? undefined,
                    text,
                  ),
                  [],
                  where,
                );
                const key = `${request.method} ${check.route(request.method, request.path)} ${response.status}`;
                statuses.set(key, (statuses.get(key) ?? 0) + 1);
                if (response.status === 201 && request.path === '/accounts')
                  opened += (JSON.parse(text) as { balance: number }).balance;
                if (response.status === 201 && request.path === '/users') created++;
                if (response.status === 204) deleted++;
              }
              const accounts = (await (await fetch(`${base}/accounts`)).json()) as { balance: number }[];
              assert.equal(
                accounts.reduce((sum, a) => sum + a.balance, 0),
                opened,
                'the total of balances is what the openings put in',
              );
              const users = (await (await fetch(`${base}/users`)).json()) as unknown[];
              assert.equal(users.length, created - deleted, 'users listed = created - deleted');
              const exported = await (await fetch(`${base}/users/export`)).text();
              assert.deepEqual(
                exported === ''
                  ? []
                  : exported
                      .trimEnd()
                      .split('\n')
                      .map((line) => JSON.parse(line) as unknown),
                users,
                'the export holds the users listed',
              );
            },
          ),
          { numRuns: RUNS, seed: SEED, endOnFailure: true },
        );
        const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
        t.diagnostic(`${sent} requests (seed ${SEED}): ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
        assert.ok(sent >= RUNS * 10, `${sent} requests`);
        // The fuzzer reached the interesting answers, not only 400s.
        for (const expected of [
          'POST /users 201',
          'POST /accounts 201',
          'POST /transfers 201',
          'DELETE /users/{id} 204',
          'GET /users/{id} 200',
          'POST /users 400',
          'POST /transfers 404',
          'GET /users/export 200',
          'GET /users/export 406',
        ]) {
          assert.ok(statuses.has(expected), `never saw ${expected}: ${JSON.stringify(Object.fromEntries(statuses))}`);
        }
      },
    );
  });
}
