// Wrapped classes: constructors (overloads kept; none on an abstract class), static members
// carried, classes written as constructor functions (better-sqlite3's `Database`,
// `node:sqlite`'s `DatabaseSync`), close(). Checked by `npm run typecheck`; the run time is
// pinned by test/surface.test.ts.
import Database from 'better-sqlite3';
import { DatabaseSync } from 'node:sqlite';
import { expectTypeOf } from 'expect-type';
import { smartasync, type SmartInstance } from 'smartasync';

// ---- constructor functions: better-sqlite3's Database is `function Database(...)` ----
const SmartDb = smartasync(Database);
const db = new SmartDb('users.db', { readonly: false });
expectTypeOf(db).toEqualTypeOf<SmartInstance<Database.Database>>();
expectTypeOf(db.pragma('user_version', { simple: true })).toEqualTypeOf<Promise<unknown>>();
expectTypeOf(db.serialize()).toEqualTypeOf<Promise<Buffer>>();
expectTypeOf(db.sync).toEqualTypeOf<Database.Database>();
expectTypeOf(db.exec.sync('SELECT 1')).toEqualTypeOf<Database.Database>();
expectTypeOf(db.sync.prepare('SELECT 1').get()).toBeUnknown();
// @ts-expect-error exec() returns the Database (this): it cannot come back from a worker
void db.exec('SELECT 1');
// @ts-expect-error prepare() returns a Statement, an object with methods
void db.prepare('SELECT 1');
expectTypeOf(SmartDb.SqliteError).toEqualTypeOf(Database.SqliteError); // statics are carried
// @ts-expect-error a wrapped class is called with new
void SmartDb('users.db');
// @ts-expect-error constructor parameters are checked
void new SmartDb(42n);

const SmartSqlite = smartasync(DatabaseSync); // a native constructor function
const sqlite = new SmartSqlite(':memory:');
expectTypeOf(sqlite.location()).toEqualTypeOf<Promise<string | null>>();
expectTypeOf(sqlite.sync).toEqualTypeOf<DatabaseSync>();

// ---- constructor overloads ----
class Point {
  readonly x: number;
  constructor(x: number, y: number);
  constructor(xy: [number, number]);
  constructor(a: number | [number, number], b?: number) {
    this.x = typeof a === 'number' ? a + (b ?? 0) : a[0];
  }
}
const SmartPoint = smartasync(Point);
expectTypeOf(new SmartPoint(1, 2)).toEqualTypeOf<SmartInstance<Point>>();
expectTypeOf(new SmartPoint([1, 2])).toEqualTypeOf<SmartInstance<Point>>();
// @ts-expect-error no constructor overload takes one number
void new SmartPoint(1);

// ---- static members: carried, as written ----
class Settings {
  static readonly defaults = { size: 2 };
  static instances = 0;
  static fromEnv(env: Record<string, string | undefined>): Settings {
    return new Settings(env.SIZE ?? '1');
  }
  static original = 'a static named like the wrapper member';
  readonly size: string;
  constructor(size: string) {
    this.size = size;
  }
}
const SmartSettings = smartasync(Settings);
expectTypeOf(SmartSettings.defaults).toEqualTypeOf<{ size: number }>();
expectTypeOf(SmartSettings.instances).toEqualTypeOf<number>();
expectTypeOf(SmartSettings.fromEnv({})).toEqualTypeOf<Settings>(); // runs here, as Settings.fromEnv
SmartSettings.instances = 2;
// @ts-expect-error readonly statics stay readonly
SmartSettings.defaults = { size: 3 };
expectTypeOf(SmartSettings.original).toEqualTypeOf<typeof Settings>(); // the wrapper's own member wins

class Base {
  static inherited(): string {
    return 'base';
  }
}
class Derived extends Base {}
expectTypeOf(smartasync(Derived).inherited()).toEqualTypeOf<string>();

// ---- abstract classes: no `new` ----
abstract class Shape {
  abstract area(): number;
  describe(): string {
    return `area ${this.area()}`;
  }
}
const SmartShape = smartasync(Shape);
// @ts-expect-error Cannot create an instance of an abstract class
void new SmartShape();
class Square extends Shape {
  area(): number {
    return 4;
  }
}
expectTypeOf(new (smartasync(Square))().area()).toEqualTypeOf<Promise<number>>();

// ---- close(): awaited, it releases every replica, then closes here ----
class Connection {
  close(reason?: string): string {
    return `closed ${reason ?? ''}`;
  }
}
const connection = new (smartasync(Connection))();
expectTypeOf(connection.close()).toEqualTypeOf<Promise<void>>();
expectTypeOf(connection.close.sync('done')).toEqualTypeOf<string>();
// @ts-expect-error close() has no .json()
void connection.close.json();
// @ts-expect-error nor .with()
void connection.close.with({ timeout: 1 });
expectTypeOf(db.close()).toEqualTypeOf<Promise<void>>(); // Database#close() returns this: not sent anywhere
expectTypeOf(db.close.sync()).toEqualTypeOf<Database.Database>();

// ---- symbol-keyed members are not wrapped (the run time wraps string keys only) ----
class Rows {
  *[Symbol.iterator](): Generator<number> {
    yield 1;
  }
  [Symbol.dispose](): void {}
}
const rows = new (smartasync(Rows))();
expectTypeOf(rows[Symbol.iterator]()).toEqualTypeOf<Generator<number>>();
expectTypeOf([...rows]).toEqualTypeOf<number[]>();
expectTypeOf(rows[Symbol.asyncDispose]()).toEqualTypeOf<Promise<void>>();
