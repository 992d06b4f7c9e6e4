// Compile-time tests of the inferred signatures: checked by `npm run typecheck` (tsc).
// A line marked @ts-expect-error fails the check if it ever compiles.
import { expectTypeOf } from 'expect-type';
import {
  smartasync,
  offload,
  offloadable,
  release,
  getPool,
  configure,
  isWorker,
  type SmartFunction,
  type SmartInstance,
  type PoolStats,
} from 'smartasync';

// ---- functions ----
const add = smartasync((a: number, b: number) => a + b);
expectTypeOf(add).parameters.toEqualTypeOf<[number, number]>();
expectTypeOf(add).returns.toEqualTypeOf<Promise<number>>();
expectTypeOf(add.sync).parameters.toEqualTypeOf<[number, number]>();
expectTypeOf(add.sync).returns.toEqualTypeOf<number>();
expectTypeOf(add.with({ timeout: 10 })).toEqualTypeOf<SmartFunction<(a: number, b: number) => number>>();
expectTypeOf(add.isAsync).toEqualTypeOf<boolean>();
expectTypeOf(add.json).parameters.toEqualTypeOf<[number, number]>();
expectTypeOf(add.json).returns.toEqualTypeOf<Promise<string>>();
// @ts-expect-error a wrong argument type does not compile
void add('1', 2);
// @ts-expect-error nor a missing argument
add.sync(1);
// @ts-expect-error nor an unknown option
void add.with({ timout: 10 });

const load = smartasync(async (id: string) => ({ id, tags: ['a'] }));
expectTypeOf(load).returns.toEqualTypeOf<Promise<{ id: string; tags: string[] }>>();
expectTypeOf(load.sync).returns.toEqualTypeOf<{ id: string; tags: string[] }>();

const optional = smartasync(function greet(name: string, punctuation?: '!' | '.') {
  return `hi ${name}${punctuation ?? ''}`;
});
expectTypeOf(optional).parameters.toEqualTypeOf<[string, ('!' | '.')?]>();
// @ts-expect-error literal types are kept
void optional('x', '?');

expectTypeOf(smartasync((x: number) => x, { offload: 'auto', inlineBelowMs: 0.05 })).toEqualTypeOf<
  SmartFunction<(x: number) => number>
>();
// @ts-expect-error offload is a closed set
smartasync((x: number) => x, { offload: 'sometimes' });

// ---- classes ----
interface User {
  id: number;
  name: string;
}
class Repo {
  readonly path: string;
  count = 0;
  constructor(path: string, _options?: { readonly: boolean }) {
    this.path = path;
  }
  find(id: number): User | undefined {
    return id ? { id, name: 'x' } : undefined;
  }
  async reload(): Promise<string[]> {
    return [this.path];
  }
}
const SmartRepo = smartasync(Repo);
const repo = new SmartRepo('users.db', { readonly: true });
expectTypeOf(repo).toEqualTypeOf<SmartInstance<Repo>>();
expectTypeOf(repo.find).parameters.toEqualTypeOf<[number]>();
expectTypeOf(repo.find).returns.toEqualTypeOf<Promise<User | undefined>>();
expectTypeOf(repo.find.sync).returns.toEqualTypeOf<User | undefined>();
expectTypeOf(repo.reload).returns.toEqualTypeOf<Promise<string[]>>();
expectTypeOf(repo.reload.sync).returns.toEqualTypeOf<string[]>();
expectTypeOf(repo.count).toEqualTypeOf<number>();
expectTypeOf(repo.path).toEqualTypeOf<string>();
expectTypeOf(repo.sync).toEqualTypeOf<Repo>();
expectTypeOf(SmartRepo.original).toEqualTypeOf<typeof Repo>();
expectTypeOf(release).parameters.toEqualTypeOf<[object]>();
// @ts-expect-error constructor parameters are checked
new SmartRepo(42);
// @ts-expect-error method parameters are checked
void repo.find('1');
// @ts-expect-error readonly members stay readonly
repo.path = 'x';
// @ts-expect-error placement is a closed set
smartasync(Repo, { placement: 'anywhere' });
expectTypeOf(smartasync(Repo, { placement: 'pinned' })).toEqualTypeOf(SmartRepo);
expectTypeOf(smartasync(Repo, { replica: () => new Repo('replica.db') })).toEqualTypeOf(SmartRepo);
expectTypeOf(smartasync(Repo, { replica: async () => new Repo('replica.db') })).toEqualTypeOf(SmartRepo);
// @ts-expect-error a replica factory builds the class's own instances
smartasync(Repo, { replica: () => ({ path: 'not a Repo' }) });

// ---- generators ----
const rows = smartasync(function* rows(n: number) {
  for (let i = 0; i < n; i++) yield { i };
  return 'done' as const;
});
expectTypeOf(rows(3)).toEqualTypeOf<AsyncGenerator<{ i: number }, 'done', undefined>>();
expectTypeOf(rows.sync(3)).toEqualTypeOf<Generator<{ i: number }, 'done', undefined>>();
const ticks = smartasync(async function* ticks() {
  yield 1;
});
expectTypeOf(ticks()).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
expectTypeOf(ticks.sync()).toEqualTypeOf<Generator<number, void, undefined>>();
expectTypeOf(rows.json(3)).toEqualTypeOf<Promise<string>>();

// ---- where the code runs ----
expectTypeOf(isWorker).toEqualTypeOf<boolean>();
// @ts-expect-error a constant, not something to set
isWorker = true;

// ---- pool ----
expectTypeOf(getPool().stats()).toEqualTypeOf<PoolStats>();
expectTypeOf(getPool().close()).toEqualTypeOf<Promise<void>>();
expectTypeOf(getPool().warm).parameters.toEqualTypeOf<object[]>();
expectTypeOf(getPool().warm(new SmartRepo('x'))).toEqualTypeOf<Promise<void>>();
expectTypeOf(getPool().stats().heldBack).toEqualTypeOf<number>();
configure({ headOfLine: false });
configure({ headOfLine: { longCallMs: 5, holdMs: 500, reservedCores: 1 } });
configure({ workerNice: 10 });
// @ts-expect-error a nice step count is a number
configure({ workerNice: 'low' });
// @ts-expect-error unknown head-of-line setting
configure({ headOfLine: { longCallsMs: 5 } });

// ---- decorators (TC39 standard) ----
@offloadable
class Reports {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }
  @offload
  async build(month: number): Promise<string> {
    return `${this.dir}/${month}`;
  }
}
expectTypeOf(new Reports('r').build).returns.toEqualTypeOf<Promise<string>>();

class NotAsync {
  // @ts-expect-error @offload only applies to methods that return a Promise
  @offload
  build(): string {
    return '';
  }
}
void NotAsync;
