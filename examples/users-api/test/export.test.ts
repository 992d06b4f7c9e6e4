// GET /users/export on each driver, over real HTTP: the whole table as NDJSON or CSV; a client
// that stops reading holds the export back (backpressure from the socket to the database cursor);
// a client that goes away mid-export ends it, its cursor and connection released; a database
// that fails mid-export cuts the response short rather than ending it as if complete.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { getPool } from 'smartasync';
import { buildApp } from '../src/app.ts';
import { dialectOf, DRIVERS, type DriverName, type TestDatabases, needs, testDatabases } from './support/databases.ts';
import { setUpPool, TEST_MODE } from './support/pool.ts';
import { rawQuery, seedUsers, withSqlite } from './support/raw.ts';

// Enough rows, with long enough names, that the export (about 24 MB) cannot fit in the loopback
// socket buffers: a client that stops reading must hold the database back.
const ROWS = 100_000;
const NAME = 'n'.repeat(180);

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

const seed = (driver: DriverName, url: string) => seedUsers(driver, url, ROWS, NAME, 'export.test');

/**
 * Exports in progress, as the database sees them: for SQLite, whether a read snapshot is held
 * (0 or 1; an export reads on a connection of its own), PostgreSQL sessions inside a transaction
 * (the cursor's), MariaDB sessions running the export's query.
 */
async function exportsOpen(driver: DriverName, url: string): Promise<number> {
  switch (dialectOf(driver)) {
    case 'sqlite': {
      // SQLite has no session list, and open files say nothing either: SQLite hands a closed
      // connection's descriptor to the next connection of the process. An export holds a read
      // snapshot, though: after a write, a checkpoint cannot copy the WAL past that snapshot.
      return withSqlite(driver, url, (db) => {
        db.query('CREATE TABLE IF NOT EXISTS export_probe (x INTEGER); INSERT INTO export_probe VALUES (1)');
        const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
        return wal!.checkpointed < wal!.log ? 1 : 0;
      });
    }
    case 'postgres': {
      const name = new URL(url.replace(/^[a-z+]+:/, 'http:')).pathname.slice(1);
      const admin = url.replace(/\/[^/]+$/, '/postgres');
      const [row] = await rawQuery(
        driver,
        admin,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${name}' AND backend_xid IS NULL AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`,
      );
      return Number(row!.n);
    }
    case 'mysql': {
      const [row] = await rawQuery(
        driver,
        url,
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT id, name, email FROM users ORDER BY id%'",
      );
      return Number(row!.n);
    }
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A GET whose body is read only when asked: `read(bytes)` reads at least that much more, then pauses. */
function slowGet(base: string, path: string) {
  return new Promise<{
    response: http.IncomingMessage;
    received: () => number;
    read: (bytes: number) => Promise<void>;
    rest: () => Promise<string>;
    destroy: () => void;
  }>((resolve, reject) => {
    const request = http.get(`${base}${path}`, { agent: false }, (response) => {
      response.pause();
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      resolve({
        response,
        received: () => received,
        read: (bytes) =>
          new Promise<void>((done) => {
            const target = received + bytes;
            const check = () => {
              if (received < target) return;
              response.pause();
              response.off('data', check);
              done();
            };
            response.on('data', check);
            response.resume();
          }),
        rest: () =>
          new Promise<string>((done, fail) => {
            response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
            response.on('error', fail);
            response.on('aborted', () => fail(new Error('aborted')));
            response.resume();
          }),
        destroy: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

// The drivers' suites overlap, two at a time: each waits on its own database and clients, and
// what it asserts (rows, statuses, cursors released) does not depend on how fast.
describe('each driver', { concurrency: 2 }, () => {
  for (const driver of DRIVERS) {
    describe(driver, { ...needs(driver), concurrency: 1 }, () => {
      let app: FastifyInstance;
      let base: string;
      let url: string;
      before(async () => {
        url = databases.freshUrl(driver);
        app = await buildApp({ databaseUrl: url, mode: TEST_MODE, reportCost: 1000 });
        await app.listen({ host: '127.0.0.1', port: 0 });
        base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      });
      after(() => {
        // A test that failed part-way may leave a client holding an export open.
        app?.server.closeAllConnections();
        return app?.close();
      });

      test('NDJSON by default, CSV by Accept: the users of GET /users, in id order; 406 for anything else', async () => {
        const empty = await fetch(`${base}/users/export`);
        assert.equal(empty.status, 200);
        assert.equal(empty.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
        assert.equal(await empty.text(), '');
        assert.equal(
          await (await fetch(`${base}/users/export`, { headers: { accept: 'text/csv' } })).text(),
          'id,name,email\n',
        );

        for (const [name, email] of [
          ['Zoë, "Z" Ñúñez', 'zoe@example.com'],
          ['+1 formula', 'plus@example.com'],
          ['李小龍', 'lee@example.com'],
        ])
          assert.equal((await fetch(`${base}/users`, json({ name, email }))).status, 201);
        const listed = (await (await fetch(`${base}/users`)).json()) as { id: number; name: string; email: string }[];

        const ndjson = await fetch(`${base}/users/export`, { headers: { accept: 'application/x-ndjson' } });
        assert.match(ndjson.headers.get('content-disposition') ?? '', /attachment; filename="users\.ndjson"/);
        const lines = (await ndjson.text()).split('\n');
        assert.equal(lines.pop(), '', 'each line ends with a newline');
        assert.deepEqual(
          lines.map((line) => JSON.parse(line) as unknown),
          listed,
        );

        const csv = await fetch(`${base}/users/export`, { headers: { accept: 'text/csv;q=0.9, text/html;q=0.1' } });
        assert.equal(csv.status, 200);
        assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
        assert.equal(
          await csv.text(),
          [
            'id,name,email',
            `${listed[0]!.id},"Zoë, ""Z"" Ñúñez",zoe@example.com`,
            `${listed[1]!.id},'+1 formula,plus@example.com`,
            `${listed[2]!.id},李小龍,lee@example.com`,
            '',
          ].join('\n'),
        );

        const refused = await fetch(`${base}/users/export`, { headers: { accept: 'application/json' } });
        assert.equal(refused.status, 406);
        assert.deepEqual(await refused.json(), {
          detail: 'The export is application/x-ndjson or text/csv: ask for one in Accept',
        });
      });

      test(`${ROWS.toLocaleString('en')} rows: a client that stops reading holds the export back; reading on gets every row`, async () => {
        await rawQuery(driver, url, 'DELETE FROM users');
        await seed(driver, url);
        assert.equal(await exportsOpen(driver, url), 0, 'no export open before');
        const client = await slowGet(base, '/users/export');
        assert.equal(client.response.statusCode, 200);
        await client.read(64 * 1024);
        // The client reads nothing more: once the socket buffers are full the server stops writing,
        // stops pulling rows, and the export waits, open, part-way through.
        await new Promise((r) => setTimeout(r, 1_500));
        assert.equal(await exportsOpen(driver, url), 1, 'the export is still open, waiting for its reader');
        const received = client.received();
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(client.received(), received, 'nothing more arrived while the client did not read');
        assert.ok(received < 24 * 1024 * 1024 * 0.5, `${received} bytes reached the client before it stopped`);

        const text = await client.rest();
        const lines = text.trimEnd().split('\n');
        assert.equal(lines.length, ROWS);
        assert.deepEqual(JSON.parse(lines[0]!), {
          id: JSON.parse(lines[0]!).id,
          name: `${NAME}1`,
          email: 'user1@export.test',
        });
        assert.equal(JSON.parse(lines.at(-1)!).email, `user${ROWS}@export.test`);
        await until('the export ends once read', async () => (await exportsOpen(driver, url)) === 0);
      });

      // Issue 15, defect 10: a reader that stalls for good must not hold the connection, nor the
      // export's cursor, for ever. 1.5 s here; HTTP_IDLE_TIMEOUT_MS, 60 s by default.
      test('a client that stops reading for the idle bound loses its connection; the export ends, its cursor released', async () => {
        const idleMs = 1_500;
        const strict = await buildApp({ databaseUrl: url, mode: TEST_MODE, httpTimeouts: { idleMs } });
        try {
          await strict.listen({ host: '127.0.0.1', port: 0 });
          // Seen from the server: a paused client does not read, so it would not notice the close.
          const serverSide = once(strict.server, 'connection').then(([socket]) => once(socket as Socket, 'close'));
          const client = await slowGet(
            `http://127.0.0.1:${(strict.server.address() as { port: number }).port}`,
            '/users/export',
          );
          await client.read(64 * 1024);
          const stalled = performance.now();
          assert.equal(await exportsOpen(driver, url), 1, 'export in progress');
          const limit = new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('the connection is still open')), idleMs + 5_000).unref(),
          );
          await Promise.race([serverSide, limit]);
          // Idle once the socket buffers are full, which takes a moment of writing first.
          const afterMs = performance.now() - stalled;
          assert.ok(
            afterMs >= idleMs - 100 && afterMs < idleMs + 5_000,
            `closed ${Math.round(afterMs)} ms after the client stalled`,
          );
          await assert.rejects(client.rest(), /aborted|socket hang up|ECONNRESET/, 'cut short, never complete-looking');
          await until('the export ends with its connection', async () => (await exportsOpen(driver, url)) === 0);
        } finally {
          strict.server.closeAllConnections(); // if the bound failed, the export would hold close() up
          await strict.close();
        }
      });

      test('a client that disconnects mid-export ends it: its cursor and connection are released', async () => {
        const crashed = getPool().stats().crashedWorkers;
        assert.equal(await exportsOpen(driver, url), 0, 'no export open before');
        for (let round = 0; round < 3; round++) {
          const client = await slowGet(base, '/users/export');
          await client.read(256 * 1024 * (round + 1));
          assert.equal(await exportsOpen(driver, url), 1, 'export in progress');
          client.destroy();
          await until('the export ends when its client goes away', async () => (await exportsOpen(driver, url)) === 0);
        }
        // Ended by its own finally, not by ending a worker: the pool lost none.
        assert.equal(getPool().stats().crashedWorkers, crashed);
        // And everything still works: a full export, and the other routes.
        const full = (await (await fetch(`${base}/users/export`)).text()).trimEnd().split('\n');
        assert.equal(full.length, ROWS);
        const first = JSON.parse(full[0]!) as { id: number };
        assert.equal((await fetch(`${base}/users/${first.id}`)).status, 200);
      });

      if (dialectOf(driver) !== 'sqlite') {
        test('the database failing mid-export cuts the response short: never a complete-looking export', async () => {
          const client = await slowGet(base, '/users/export');
          await client.read(256 * 1024);
          // End the export's session from the server side, as a failover or an admin would.
          if (dialectOf(driver) === 'mysql') {
            const [row] = await rawQuery(
              driver,
              url,
              "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT id, name, email FROM users ORDER BY id%'",
            );
            await rawQuery(driver, url, `KILL ${Number(row!.id)}`);
          } else {
            const name = new URL(url.replace(/^[a-z+]+:/, 'http:')).pathname.slice(1);
            await rawQuery(
              driver,
              url.replace(/\/[^/]+$/, '/postgres'),
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`,
            );
          }
          await assert.rejects(client.rest(), /aborted|socket hang up|ECONNRESET/);
          const full = (await (await fetch(`${base}/users/export`)).text()).trimEnd().split('\n');
          assert.equal(full.length, ROWS, 'exports go on');
          const first = JSON.parse(full[0]!) as { id: number };
          assert.equal((await fetch(`${base}/users/${first.id}`)).status, 200, 'and so does the rest');
        });
      }
    });
  }

  function json(body: unknown): RequestInit {
    return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }
});
