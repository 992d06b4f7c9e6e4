// Calls that would send something that cannot cross threads do not compile, in the form that
// would send it; the compiler's message (the refused call's `this` type) says what and what
// to do. The run time refuses the same values (test/surface.test.ts, test/errors.test.ts).
// Checked by `npm run typecheck`.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expectTypeOf } from 'expect-type';
import { smartasync, type Refused, type SmartFunction } from 'smartasync';

/** The refusal message of a callable `F`, as its `this` type holds it. */
type Why<F> = ThisParameterType<F> extends Refused<infer W> ? W : 'not refused';

// ---- a method returning `this` ----
class Counter {
  n = 0;
  inc(): this {
    this.n++;
    return this;
  }
  clone(): Counter {
    return Object.assign(new Counter(), this);
  }
  async later(): Promise<this> {
    return this;
  }
  read(): number {
    return this.n;
  }
}
const counter = new (smartasync(Counter))();
// @ts-expect-error awaited, inc() runs on a worker's replica, which cannot come back
void counter.inc();
expectTypeOf<
  Why<typeof counter.inc>
>().toEqualTypeOf<'smartasync: awaited, inc() runs on a worker, and its result is the instance itself (this), which cannot cross threads. Call inc.sync() to run it on this thread, or pass and return plain data (functions, symbols and class instances cannot cross).'>();
expectTypeOf(counter.inc.sync()).toEqualTypeOf<Counter>(); // .sync() runs here: fine
// @ts-expect-error another instance of the class cannot cross either
void counter.clone();
// An async method runs here when awaited: fine; its .sync() runs on the bridge worker: refused.
expectTypeOf(counter.later()).toEqualTypeOf<Promise<Counter>>();
// @ts-expect-error .sync() of an async method returning this
counter.later.sync();
expectTypeOf<
  Why<typeof counter.later.sync>
>().toExtend<`smartasync: with .sync(), later() runs its async body on the bridge worker, and its result is the instance itself (this)${string}`>();
expectTypeOf(counter.read()).toEqualTypeOf<Promise<number>>(); // plain data: not refused
expectTypeOf<Why<typeof counter.read>>().toEqualTypeOf<'not refused'>();

// ---- results the types can see into ----
const makeCallback = smartasync(() => ({ ok: true, callback: () => 1 }));
// @ts-expect-error result.callback is a function
void makeCallback();
expectTypeOf<
  Why<typeof makeCallback>
>().toExtend<`smartasync: awaited, this function runs on a worker, and result.callback is a function, which cannot cross threads.${string}`>();
expectTypeOf(makeCallback.sync().callback()).toExtend<number>(); // here: fine
expectTypeOf(makeCallback.json()).toEqualTypeOf<Promise<string>>(); // JSON text: fine

const makeSymbol = smartasync(() => [Symbol('a')]);
// @ts-expect-error result[i] is a symbol
void makeSymbol();
expectTypeOf<Why<typeof makeSymbol>>().toExtend<`${string}result[i] is a symbol${string}`>();

const makeInstance = smartasync(() => ({ when: new Date(), url: new URL('http://x') }));
// @ts-expect-error result.url is a class instance with methods
void makeInstance();
expectTypeOf<Why<typeof makeInstance>>().toExtend<`${string}result.url is an object with methods${string}`>();

const makePromises = smartasync(() => new Map([['a', Promise.resolve(1)]]));
// @ts-expect-error a promise inside the result
void makePromises();
expectTypeOf<Why<typeof makePromises>>().toExtend<`${string}result's values is a promise${string}`>();

// What structured clone carries whole is not refused, methods and all.
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export const fine = smartasync(() => ({
  when: new Date(),
  pattern: /x/,
  bytes: new Uint8Array(2),
  buffer: Buffer.from('x'),
  error: new RangeError('x'),
  counts: new Map<string, number[]>(),
  tags: new Set(['a']),
  big: 1n,
  json: null as unknown as Json,
  anything: null as unknown,
  record: {} as Record<string, unknown>,
  optional: undefined as { deep?: { deeper: string[] } } | undefined,
}));
expectTypeOf<Why<typeof fine>>().toEqualTypeOf<'not refused'>();

// The search goes 8 levels deep; deeper parts are left to the run-time check (a README limit).
type Nested<N extends number, Done extends unknown[] = []> = Done['length'] extends N
  ? { f: () => 1 }
  : { a: Nested<N, [...Done, 0]> };
expectTypeOf<
  Why<SmartFunction<() => Nested<8>>>
>().toExtend<`${string}result.a.a.a.a.a.a.a.a.f is a function${string}`>();
expectTypeOf<Why<SmartFunction<() => Nested<9>>>>().toEqualTypeOf<'not refused'>();

// ---- arguments ----
const each = smartasync((items: string[], visit: (item: string) => void) => items.forEach(visit));
// @ts-expect-error args[1] is a function
void each(['a'], () => {});
expectTypeOf<Why<typeof each>>().toExtend<`${string}args[1] is a function${string}`>();
each.sync(['a'], () => {}); // .sync() of a sync body runs here: fine
// @ts-expect-error .json() sends the arguments too
void each.json(['a'], () => {});
// What a caller may leave out never blocks: optional parameters, optional properties...
export const withOptions = smartasync(
  (n: number, _options?: { onProgress?: (done: number) => void; size?: number }) => n,
);
expectTypeOf<Why<typeof withOptions>>().toEqualTypeOf<'not refused'>();
// ...nor a union with a member that crosses (a path given as a string, not a URL)
export const open = smartasync((path: string | URL) => String(path));
expectTypeOf<Why<typeof open>>().toEqualTypeOf<'not refused'>();
// Transferable objects cross with `transfer`.
const listen = smartasync((port: MessagePort) => port.postMessage('hi'));
expectTypeOf<Why<typeof listen>>().toEqualTypeOf<'not refused'>();
const { port1 } = new MessageChannel();
void listen.with({ transfer: [port1] })(port1);

// An async body runs here when awaited, with any arguments; its .sync() sends them.
const visitLater = smartasync(async (visit: () => void) => visit());
void visitLater(() => {});
// @ts-expect-error .sync() runs the async body on the bridge worker: args[0] is a function
visitLater.sync(() => {});

// ---- generators: the items cross ----
const handlers = smartasync(function* handlers() {
  yield () => 1;
});
// @ts-expect-error an item is a function
void handlers();
expectTypeOf<Why<typeof handlers>>().toExtend<`${string}an item is a function${string}`>();
expectTypeOf(handlers.sync()).toEqualTypeOf<Generator<() => 1, void, undefined>>();
const handlersLater = smartasync(async function* handlersLater() {
  yield () => 1;
});
expectTypeOf(handlersLater()).toEqualTypeOf<AsyncGenerator<() => 1, void, undefined>>();
// @ts-expect-error .sync() runs an async generator on the bridge worker
handlersLater.sync();
