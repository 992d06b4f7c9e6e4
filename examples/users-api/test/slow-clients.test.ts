// Slow and stalled HTTP clients cannot hold a connection (issue 15, defect 10): unfinished
// headers, an unfinished or trickling request body, and an idle kept-alive connection are each
// closed by the server within its bound (README: Slow clients), over real sockets, on each driver.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { HTTP_TIMEOUTS, type HttpTimeouts } from '../src/http-timeouts.ts';
import { DRIVERS, needs, type TestDatabases, testDatabases } from './support/databases.ts';
import { setUpPool, TEST_MODE } from './support/pool.ts';
import { startServer } from './support/server.ts';

// Short bounds, so that the test takes seconds; the defaults are checked below.
const SHORT: HttpTimeouts = { headersMs: 400, requestMs: 800, idleMs: 1_500, keepAliveMs: 400 };
/** What the server may take past a bound before it closes: Node checks headers and requests every headersMs / 4. */
const SLACK_MS = 1_000;
/** Node keeps an idle kept-alive socket this much longer than the Keep-Alive header says (keepAliveTimeoutBuffer). */
const KEEP_ALIVE_BUFFER_MS = 1_000;

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

interface Closed {
  /** ms from the client's last write (or from connecting) to the server closing the connection. */
  afterMs: number;
  /** What the server sent, if anything. */
  response: string;
}

/**
 * Opens a connection to `port`, writes each of `writes` (`gapMs` apart, stopping if the server
 * closes), then writes nothing more: resolves when the server closes, rejects if it is still open
 * `limitMs` after the connection was made.
 */
async function stallAndWait(port: number, writes: string[], limitMs: number, gapMs = 0): Promise<Closed> {
  const socket: Socket = connect(port, '127.0.0.1');
  const opened = performance.now();
  let response = '';
  let lastWrite = opened;
  let closedAt: number | undefined;
  socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
  socket.on('error', () => {}); // a reset is a close too
  const closed = once(socket, 'close').then(() => (closedAt = performance.now()));
  await once(socket, 'connect');
  for (const [i, text] of writes.entries()) {
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    if (closedAt !== undefined) break;
    socket.write(text);
    lastWrite = performance.now();
  }
  const left = limitMs - (performance.now() - opened);
  const timer = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), Math.max(0, left)).unref());
  const outcome = await Promise.race([closed, timer]);
  socket.destroy();
  if (outcome === 'open') throw new Error(`the connection is still open ${limitMs} ms after it was made`);
  return { afterMs: closedAt! - lastWrite, response };
}

const firstLine = (response: string) => response.split('\r\n')[0] ?? '';

// The drivers' suites overlap: each mostly waits for the server to close a connection.
describe('each driver', { concurrency: true }, () => {
  for (const driver of DRIVERS) {
    describe(driver, needs(driver), () => {
      let app: FastifyInstance;
      let port: number;
      before(async () => {
        app = await buildApp({ databaseUrl: databases.freshUrl(driver), mode: TEST_MODE, httpTimeouts: SHORT });
        await app.listen({ host: '127.0.0.1', port: 0 });
        port = (app.server.address() as { port: number }).port;
      });
      after(() => app?.close());

      test('unfinished headers: 408 and closed within the headers bound', async () => {
        const closed = await stallAndWait(port, ['GET /users HTTP/1.1\r\nHost: x\r\n'], SHORT.headersMs + SLACK_MS);
        assert.equal(firstLine(closed.response), 'HTTP/1.1 408 Request Timeout');
        // And a connection that sends nothing at all.
        const silent = await stallAndWait(port, [], SHORT.headersMs + SLACK_MS);
        assert.ok(silent.afterMs >= SHORT.headersMs - 50, `closed after ${silent.afterMs} ms, before its bound`);
      });

      test('an unfinished chunked body: 408 and closed within the request bound; nothing written', async () => {
        const head =
          'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
        const closed = await stallAndWait(port, [head, '9\r\n{"name": \r\n'], SHORT.requestMs + SLACK_MS);
        assert.equal(firstLine(closed.response), 'HTTP/1.1 408 Request Timeout');
        // A body trickled a byte at a time keeps the connection busy, so only the request bound ends it.
        const body = '{"name":"Slow","email":"slow@example.com"}';
        const trickle = [head, ...[...body].map((c) => `1\r\n${c}\r\n`)];
        const started = performance.now();
        const trickled = await stallAndWait(port, trickle, SHORT.requestMs + SLACK_MS, 100);
        assert.ok(performance.now() - started < SHORT.requestMs + SLACK_MS + 500);
        assert.equal(firstLine(trickled.response), 'HTTP/1.1 408 Request Timeout');
        assert.deepEqual((await app.inject({ method: 'GET', url: '/users' })).json(), [], 'no user created');
      });

      test('a kept-alive connection left idle after its response is closed within the keep-alive bound', async () => {
        const closed = await stallAndWait(
          port,
          ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'],
          SHORT.keepAliveMs + KEEP_ALIVE_BUFFER_MS + SLACK_MS,
        );
        assert.ok(closed.afterMs >= SHORT.keepAliveMs - 50, `closed after ${closed.afterMs} ms, before its bound`);
        assert.equal(firstLine(closed.response), 'HTTP/1.1 200 OK');
        assert.match(closed.response, /\r\nconnection: keep-alive\r\n/i, 'kept alive, then closed for idling');
      });
    });
  }
});

describe('the bounds in use', () => {
  test('buildApp() sets the documented defaults on the server', async () => {
    const app = await buildApp({ databaseUrl: databases.freshUrl('better-sqlite3'), mode: 'inline' });
    try {
      assert.deepEqual(
        {
          headersMs: app.server.headersTimeout,
          requestMs: app.server.requestTimeout,
          idleMs: app.server.timeout,
          keepAliveMs: app.server.keepAliveTimeout,
        },
        { ...HTTP_TIMEOUTS },
      );
      assert.deepEqual(HTTP_TIMEOUTS, { headersMs: 10_000, requestMs: 30_000, idleMs: 60_000, keepAliveMs: 72_000 });
      // Node checks the headers and request bounds every second, not every 30 s (its default).
      assert.equal(
        (app.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval,
        1_000,
      );
    } finally {
      await app.close();
    }
  });

  test('the server process takes them from HTTP_*_TIMEOUT_MS', async () => {
    const server = await startServer({
      DATABASE_URL: databases.freshUrl('better-sqlite3'),
      LOG_LEVEL: 'info',
      HTTP_HEADERS_TIMEOUT_MS: '300',
      HTTP_REQUEST_TIMEOUT_MS: '600',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '300',
      HTTP_IDLE_TIMEOUT_MS: '8000',
    });
    try {
      const port = Number(new URL(server.base).port);
      const head = 'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n';
      const closed = await stallAndWait(port, [head, '{"na'], 600 + SLACK_MS);
      assert.equal(firstLine(closed.response), 'HTTP/1.1 408 Request Timeout');
    } finally {
      server.child.kill('SIGTERM');
    }
    assert.deepEqual((await server.exited)[0], 0);
  });
});

// A client that stops reading a response is bounded by the idle timeout: export.test.ts.
