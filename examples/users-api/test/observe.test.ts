// The request travels with its database calls (issue 17 item 5), in the real server process as
// `npm start` runs it: the data layer's log lines, written on worker threads, carry the
// request's id; with the standard OTEL_* variables, one request is one trace from the HTTP span
// through smartasync's call to the statement's span on the worker; /metrics has the per-function
// histograms. Real HTTP, real threads, a real SQLite file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { getPool } from 'smartasync';
import { buildApp } from '../src/app.ts';
import { testDatabases, type TestDatabases } from './support/databases.ts';
import { json, START_FLAGS, startServer, type Server } from './support/server.ts';

const root = join(import.meta.dirname, '..');
let databases: TestDatabases;
before(async () => {
  databases = await testDatabases({ postgres: false, mariadb: false });
});
after(async () => {
  await getPool().close();
  await databases?.stop();
});

/** Every call offloaded (whatever the shipped default), so that each one crosses to a worker. */
const OFFLOADED = { DATA_MODE: 'smartasync', DB_POOL_SIZE: '2', LOG_LEVEL: 'info' };

async function stop(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

test('200 concurrent requests: each worker log line carries its own request’s reqId, never a neighbour’s', async () => {
  const server = await startServer({
    ...OFFLOADED,
    DATABASE_URL: databases.freshUrl('better-sqlite3'),
    DB_SLOW_QUERY_MS: '0', // every statement is logged: one line per request to check
  });
  try {
    const accounts: number[] = [];
    for (const balance of [100, 100]) {
      const response = await fetch(`${server.base}/accounts`, json({ owner: 'Owner', balance }));
      accounts.push(((await response.json()) as { id: number }).id);
    }
    server.logs.length = 0;
    // Distinct ids, all in flight at once, spread over two workers.
    const ids = Array.from({ length: 200 }, (_, i) => 1_000 + i);
    const reqIdOf = new Map<string, number>();
    await Promise.all(
      ids.map(async (id) => {
        const response = await fetch(`${server.base}/users/${id}`);
        assert.equal(response.status, 404);
        await response.arrayBuffer();
        reqIdOf.set(response.headers.get('x-request-id')!, id);
      }),
    );
    // Failed transactions (refused: not enough money), each with an amount of its own.
    const amountOf = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const amount = 1_000 + i;
        const response = await fetch(`${server.base}/transfers`, json({ from: accounts[0], to: accounts[1], amount }));
        assert.equal(response.status, 409);
        await response.arrayBuffer();
        amountOf.set(response.headers.get('x-request-id')!, amount);
      }),
    );
    assert.equal(reqIdOf.size, 200, 'each request has an id of its own');
    await new Promise((r) => setTimeout(r, 100)); // the last lines through the pipe

    const queries = server.logs.filter((l) => l.msg === 'slow query' && /FROM users WHERE id/.test(String(l.sql)));
    assert.equal(queries.length, 200, 'one line per request');
    for (const line of queries) {
      assert.notEqual(line.thread, 0, 'written on a worker thread');
      assert.equal(reqIdOf.get(String(line.reqId)), (line.params as number[])[0], JSON.stringify(line));
    }
    assert.equal(new Set(queries.map((l) => l.reqId)).size, 200);
    const threads = new Set(queries.map((l) => l.thread));
    assert.ok(threads.size >= 1);

    const rollbacks = server.logs.filter((l) => l.msg === 'transaction rolled back');
    assert.equal(rollbacks.length, 20);
    for (const line of rollbacks) {
      assert.notEqual(line.thread, 0, 'written on a worker thread');
      assert.equal(line.code, 'INSUFFICIENT_FUNDS');
      assert.match(
        String(line.reason),
        new RegExp(`transfer amount ${amountOf.get(String(line.reqId))}$`),
        JSON.stringify(line),
      );
    }

    // The access log's line for a request and the worker's lines for it share the reqId.
    const access = server.logs.find((l) => l.url === `/users/${ids[7]}`)!;
    assert.equal(reqIdOf.get(String(access.reqId)), ids[7]);

    // /metrics: the per-function histograms, labelled by function, counting these calls.
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const count = (name: string) =>
      Number(
        new RegExp(`^${name}_count\\{function="DatabaseManager#getUser\\(\\)"\\} (\\d+)$`, 'm').exec(metrics)?.[1],
      );
    assert.ok(count('smartasync_function_run_seconds') >= 200, metrics);
    assert.equal(count('smartasync_function_wait_seconds'), count('smartasync_function_run_seconds'));
    assert.match(metrics, /^# TYPE smartasync_function_run_seconds histogram$/m);
    const inf = new RegExp(
      `^smartasync_function_run_seconds_bucket\\{function="DatabaseManager#getUser\\(\\)",le="\\+Inf"\\} (\\d+)$`,
      'm',
    ).exec(metrics);
    assert.equal(Number(inf?.[1]), count('smartasync_function_run_seconds'), 'the +Inf bucket holds every call');
    assert.match(
      metrics,
      /^smartasync_function_run_seconds_bucket\{function="DatabaseManager#transfer\(\)",le="0\.001"\} \d+$/m,
    );
  } finally {
    await stop(server);
  }
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP JSON receiver, as a collector would be: the spans every thread exports. */
async function collector() {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const data = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of data.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { spans, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, server };
}

test('OTEL_TRACES_EXPORTER on: one request, one trace, parent-linked from the HTTP span to the worker’s statement span', async () => {
  const otlp = await collector();
  const server = await startServer({
    ...OFFLOADED,
    DATABASE_URL: databases.freshUrl('better-sqlite3'),
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.url,
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  try {
    const created = await fetch(`${server.base}/users`, json({ name: 'Ada', email: 'ada@example.com' }));
    const { id } = (await created.json()) as { id: number };
    const response = await fetch(`${server.base}/users/${id}`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();

    const find = () => {
      const httpSpan = otlp.spans.find((s) => s.name === 'GET /users/:id' && s.kind === 2);
      const trace = otlp.spans.filter((s) => s.traceId === httpSpan?.traceId);
      const call = trace.find((s) => s.name === 'smartasync DatabaseManager#getUser()');
      const statement = trace.find((s) => s.name === 'SELECT' && s.parentSpanId === call?.spanId);
      return { httpSpan, trace, call, statement };
    };
    const deadline = performance.now() + 10_000;
    while (!find().statement && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const { httpSpan, trace, call, statement } = find();
    const names = otlp.spans.map((s) => s.name).join(', ');
    assert.ok(httpSpan, `the HTTP server span, named after its route: ${names}`);
    assert.ok(call, `smartasync's span for the call: ${names}`);
    assert.equal(call.parentSpanId, httpSpan.spanId, 'the call is a child of the request');
    assert.ok(statement, `the statement's span, opened on the worker, child of the call: ${names}`);
    const attribute = (span: OtlpSpan, key: string) =>
      Object.values(span.attributes.find((a) => a.key === key)!.value)[0];
    assert.match(String(attribute(call, 'smartasync.worker')), /^smartasync-/);
    assert.equal(attribute(statement, 'db.system.name'), 'sqlite');
    assert.match(String(attribute(statement, 'db.query.text')), /FROM users WHERE id = \?/);
    // Nothing of this request went to a trace of its own.
    assert.deepEqual(trace.map((s) => s.name).sort(), [
      'GET /users/:id',
      'SELECT',
      'smartasync DatabaseManager#getUser()',
    ]);
  } finally {
    await stop(server);
    otlp.server.close();
  }
});

test('tracing is off by default: the preload starts no SDK unless OTEL_TRACES_EXPORTER names an exporter', () => {
  const loaded = (env: Record<string, string>) => {
    const result = spawnSync(
      process.execPath,
      // What an SDK registers, once started: OpenTelemetry's global (tracer provider, context manager).
      [...START_FLAGS, '-e', "console.log(globalThis[Symbol.for('opentelemetry.js.api.1')]?.trace !== undefined)"],
      { cwd: root, env: { ...process.env, OTEL_TRACES_EXPORTER: '', ...env }, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
  };
  assert.equal(loaded({}), 'false');
  assert.equal(loaded({ OTEL_TRACES_EXPORTER: 'none' }), 'false');
  assert.equal(loaded({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'true' }), 'false');
  assert.equal(loaded({ OTEL_TRACES_EXPORTER: 'console' }), 'true', 'the control: named, it loads');
});

test('/metrics: one series per function, though DatabaseManager is wrapped twice (two apps in one process)', async () => {
  // The pool is the process's: each app's /metrics shows every wrapped function called in it.
  const offloading = await buildApp({ databaseUrl: databases.freshUrl('better-sqlite3'), mode: 'smartasync' });
  const shipped = await buildApp({ databaseUrl: databases.freshUrl('better-sqlite3') });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await offloading.inject(`/users/${i + 1}`)).statusCode, 404);
    // Offloaded until seen fast (8 calls), then inline.
    for (let i = 0; i < 12; i++) assert.equal((await shipped.inject(`/users/${i + 1}`)).statusCode, 404);
    const metrics = (await shipped.inject('/metrics')).body;
    const series = metrics.match(/^smartasync_function_run_seconds_count\{function="[^"]+"\} \d+$/gm) ?? [];
    const getUser = series.filter((line) => line.includes('"DatabaseManager#getUser()"'));
    assert.equal(getUser.length, 1, series.join('\n'));
    assert.ok(Number(getUser[0]!.split(' ')[1]) >= 5 + 8, getUser[0]);
  } finally {
    await offloading.close();
    await shipped.close();
  }
});
