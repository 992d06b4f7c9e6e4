// The typed surface matches the run time (issue 18): what the types in test/types/ promise,
// run with real worker threads. Results typed `any` are values, overloads run as declared,
// classes written as constructor functions (better-sqlite3's Database, node:sqlite's
// DatabaseSync, a CommonJS one) are wrapped as classes, statics are the original's, and what
// the types refuse (a method returning `this`) is refused at run time too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import Database from 'better-sqlite3';
import vm from 'node:vm';
import { configure, getPool, smartasync } from 'smartasync';
import LegacyStore from './fixtures/legacy-store.cjs';
import {
  SmartDatabase,
  SmartDatabaseSync,
  SmartLegacyStore,
  SmartTally,
  Tally,
  notAsync,
  parseJson,
  smartDescribe,
} from './fixtures/surface.ts';

configure({ size: 2 });

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-surface-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a function returning any (JSON.parse) gives the value, not an async generator', async () => {
  const config = await parseJson('{"port":8080,"hosts":["a"]}');
  assert.deepEqual(config, { port: 8080, hosts: ['a'] });
  assert.equal(config.port, 8080);
  assert.equal(Symbol.asyncIterator in Object(config), false);
  assert.deepEqual(parseJson.sync('[1]'), [1]);
});

test('an overloaded function runs each overload, on a worker awaited and here with .sync()', async () => {
  const n = await smartDescribe(21);
  assert.deepEqual({ ...n, threadId: undefined }, { kind: 'number', double: 42, threadId: undefined });
  assert.notEqual(n.threadId, 0);
  const s = await smartDescribe('ab', 3);
  assert.deepEqual({ ...s, threadId: undefined }, { kind: 'string', text: 'ababab', threadId: undefined });
  assert.notEqual(s.threadId, 0);
  assert.deepEqual(smartDescribe.sync('x', 2), { kind: 'string', text: 'xx', threadId: 0 });
  assert.deepEqual(smartDescribe.sync(1), { kind: 'number', double: 2, threadId: 0 });
});

test('a function that returns a promise without being declared async runs as a sync body: .sync() gives the promise (a README limit)', async () => {
  const awaited = await notAsync(1);
  assert.equal(awaited.n, 1);
  assert.notEqual(awaited.threadId, 0, 'awaited, on a worker, which awaits the promise');
  const synced = notAsync.sync(2) as unknown; // typed as the value: the types cannot see the missing async
  assert.ok(synced instanceof Promise);
  assert.deepEqual(await synced, { n: 2, threadId: 0 });
});

test('a method returning this, which the types refuse awaited, is refused at run time too; .sync() returns the instance', async () => {
  const tally = new SmartTally();
  // The types do not let this call compile (test/types/crossing.test-d.ts): cast past them.
  const inc = tally.inc as unknown as () => Promise<unknown>;
  await assert.rejects(inc(), (err: Error) => {
    assert.ok(err instanceof TypeError);
    assert.match(
      err.message,
      /return value of Tally#inc\(\) cannot be sent to another thread: result is an instance of Tally/,
    );
    return true;
  });
  assert.equal(tally.inc.sync(), tally.sync, '.sync() runs here and returns the plain instance');
  assert.equal(tally.sync.n, 1);
});

test('a CommonJS constructor function is wrapped as a class: new here, methods on worker replicas, statics carried', async () => {
  const store = new SmartLegacyStore('shop');
  assert.ok(store instanceof SmartLegacyStore);
  assert.ok(store.sync instanceof LegacyStore);
  assert.equal(store.name, 'shop');
  const where = await store.where();
  assert.equal(where.name, 'shop', 'the replica was built from the constructor arguments');
  assert.equal(where.kind, 'legacy', 'an inherited prototype method works on the replica');
  assert.notEqual(where.threadId, 0);
  assert.deepEqual(store.add.sync('here'), { count: 1, threadId: 0 });
  assert.deepEqual(store.sync.items, ['here']);
  // Statics: the original's, run here with `this` the original (inherited ones too).
  assert.equal(SmartLegacyStore.version, 2);
  SmartLegacyStore.version = 3;
  assert.equal(LegacyStore.version, 3, 'a static written through the wrapper is written on the original');
  assert.equal(SmartLegacyStore.isOriginal(), true);
  const opened = SmartLegacyStore.open('plain');
  assert.ok(opened instanceof LegacyStore);
  assert.equal(opened instanceof SmartLegacyStore, false, 'new this() in a static builds a plain instance');
  assert.throws(
    () => (SmartLegacyStore as unknown as (name: string) => unknown)('no new'),
    /Class constructor LegacyStore cannot be invoked without 'new': smartasync wrapped LegacyStore as a class, since its prototype has methods\. Call it with new, or, to offload it as a function, wrap a function of your own that calls it/,
  );
  await store[Symbol.asyncDispose]();
});

test('class statics are the original class statics: values, writes, methods with this the original, nested classes', () => {
  const before = Tally.created;
  const made = SmartTally.make();
  assert.ok(made instanceof Tally);
  assert.equal(made instanceof SmartTally, false);
  assert.equal(Tally.created, before + 1);
  SmartTally.created = 100;
  assert.equal(Tally.created, 100);
  assert.equal(SmartTally.Kind, Tally.Kind, 'a nested class keeps its identity');
  assert.equal(SmartTally.make, SmartTally.make, 'a static method is the same function each time');
  assert.equal(SmartTally.original, Tally);
});

test("a class from another realm (a vm context, as Jest's) carries its statics, not its realm's Function.prototype", () => {
  const Foreign = vm.runInNewContext(
    '(class Foreign { static version = 1; static make() { return new this(); } })',
  ) as {
    new (): object;
    version: number;
    make(): object;
  };
  const SmartForeign = smartasync(Foreign);
  assert.equal(SmartForeign.version, 1);
  assert.ok(SmartForeign.make() instanceof Foreign);
  assert.equal(SmartForeign.call, Function.prototype.call, 'call, apply, bind stay those of the wrapper');
  assert.equal(SmartForeign.bind, Function.prototype.bind);
});

test('close.sync(...args) passes its arguments to close()', async () => {
  const tally = new SmartTally();
  assert.equal(tally.close.sync('done'), 'closed: done');
});

test("node:sqlite's DatabaseSync, a native constructor function, is wrapped as a class: a connection per worker", async (t) => {
  const file = path.join(tempDir(t), 'sqlite.db');
  const db = new SmartDatabaseSync(file);
  assert.ok(db.sync instanceof DatabaseSync);
  db.exec.sync('CREATE TABLE t (x INTEGER)'); // the constructor ran here: this thread's connection
  const completed = getPool().stats().completed;
  await db.exec('INSERT INTO t VALUES (1)'); // on a worker's replica: its own connection
  assert.equal(getPool().stats().completed, completed + 1, 'the awaited call ran on a worker');
  assert.deepEqual({ ...db.sync.prepare('SELECT count(*) AS n FROM t').get() }, { n: 1 });
  assert.equal(await db.location(), file);
  // An attachment made on this thread's connection is not on the worker's.
  db.exec.sync(`ATTACH '${path.join(path.dirname(file), 'other.db')}' AS other`);
  assert.equal(db.location.sync('other'), path.join(path.dirname(file), 'other.db'));
  assert.equal(await db.location('other'), null, "the worker's connection has no database named other");
  await db.close();
  assert.equal(db.sync.isOpen, false);
});

test("better-sqlite3's Database, a constructor function, is wrapped as a class: a connection per worker", async (t) => {
  const file = path.join(tempDir(t), 'better.db');
  assert.throws(
    () => new SmartDatabase(':memory:', { readonly: true }),
    /In-memory\/temporary databases cannot be readonly/,
    'the constructor runs here, with its own errors',
  );
  const db = new SmartDatabase(file);
  assert.ok(db instanceof SmartDatabase);
  assert.ok(db.sync instanceof Database);
  assert.equal(SmartDatabase.SqliteError, Database.SqliteError);
  db.exec.sync('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
  // Written on a worker's connection, read on this thread's: one database file.
  await db.pragma('user_version = 7');
  assert.equal(db.pragma.sync('user_version', { simple: true }), 7);
  assert.deepEqual(
    ((await db.pragma('table_info(users)')) as { name: string }[]).map((c) => c.name),
    ['id', 'name'],
  );
  // A temporary table lives on one connection: this thread's, not the worker's.
  db.exec.sync('CREATE TEMP TABLE here_only (x)');
  assert.equal((db.pragma.sync('temp.table_info(here_only)') as unknown[]).length, 1);
  assert.deepEqual(await db.pragma('temp.table_info(here_only)'), []);
  assert.ok((await db.serialize()).length > 0);
  await db.close();
  assert.equal(db.sync.open, false);
});
