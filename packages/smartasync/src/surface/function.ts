/**
 * The typed surface of a wrapped function: `f(...)`, `f.sync(...)`, `f.json(...)`, each with
 * every overload of the function as written, and each refused at compile time where the
 * types show that the call would cross threads with something that cannot
 * (`Refused<Why>`, the reason in the compiler's message).
 */
import type { AnyFunction, CallOptions } from '../types.ts';
import type { CallSignatures, Same, Signature } from './overloads.ts';
import type { ArgumentsProblem, CrossingProblem, IsAny } from './crossing.ts';

/**
 * What `f(...)` gives for a function returning `R`: a promise of the result; for a generator
 * function, an async generator of its items (a `function*` streams them from a worker, at most
 * a bounded window ahead of the reader). A result typed `any` stays `any`.
 */
export type AsyncResult<R> =
  IsAny<R> extends true
    ? Promise<R>
    : [R] extends [never]
      ? Promise<never>
      : [R] extends [Generator<infer T, infer TReturn, unknown>]
        ? AsyncGenerator<T, TReturn, undefined>
        : [R] extends [AsyncGenerator<infer T, infer TReturn, unknown>]
          ? AsyncGenerator<T, TReturn, undefined>
          : Promise<Awaited<R>>;

/**
 * What `f.sync(...)` gives for a function returning `R`: the settled value; for a generator
 * function, a generator of its items (an `async function*` runs on the bridge worker, each
 * `next()` blocking until an item is there). A result typed `any` stays `any`.
 */
export type SyncResult<R> =
  IsAny<R> extends true
    ? R
    : [R] extends [never]
      ? never
      : [R] extends [Generator<infer T, infer TReturn, unknown>]
        ? Generator<T, TReturn, undefined>
        : [R] extends [AsyncGenerator<infer T, infer TReturn, unknown>]
          ? Generator<T, TReturn, undefined>
          : Awaited<R>;

/**
 * The `this` of a call the types refuse: no caller has one, so the call does not compile, and
 * the compiler's message shows `Why` (what would cross threads, and what to do instead).
 */
export interface Refused<Why extends string> {
  readonly 'smartasync refuses this call': Why;
}

/**
 * Whether a function returning `R` is taken to have an `async` body, which `await f()` runs
 * here and `f.sync()` on a worker. Types cannot see the `async` keyword: a promise or an async
 * generator is the sign. (A function that is not `async` but returns a promise runs the other
 * way round: a limit the README names.)
 */
type AsyncBody<R> =
  IsAny<R> extends true
    ? false
    : [R] extends [PromiseLike<unknown> | AsyncGenerator<unknown, unknown, unknown>]
      ? true
      : false;

/** Whether a method returns its own instance (`this`, or its class's type). */
type IsSelf<R, Self> = [Self] extends [never] ? false : Same<Awaited<R>, Self>;

/** What comes back from a worker: the settled result, or a generator's items and return value. */
type ResultProblem<R, Self> =
  IsSelf<R, Self> extends true
    ? 'its result is the instance itself (this)'
    : [R] extends [Generator<infer T, infer TReturn, unknown> | AsyncGenerator<infer T, infer TReturn, unknown>]
      ? CrossingProblem<T, 'an item'> | CrossingProblem<TReturn, 'its return value'>
      : CrossingProblem<Awaited<R>, 'result'>;

/** How a call is made: awaited, `.sync()`, or `.json()`. */
type Form = 'await' | 'sync' | 'json';

/** What crosses threads in a call of `Form` to a signature `(...args: A) => R`, if anything cannot. */
type Problem<A extends unknown[], R, F extends Form, Self> = F extends 'json'
  ? AsyncBody<R> extends true
    ? never
    : ArgumentsProblem<A>
  : AsyncBody<R> extends (F extends 'await' ? false : true)
    ? ArgumentsProblem<A> | ResultProblem<R, Self>
    : never;

/** How the refusal names the callable: `add()` for a method, `this function` otherwise. */
type Label<Name extends string> = Name extends '' ? 'this function' : `${Name}()`;

/** How the refusal names `.sync()`: `add.sync()` for a method. */
type SyncCall<Name extends string> = Name extends '' ? '.sync()' : `${Name}.sync()`;

type Refusal<Why extends string, F extends Form, Name extends string> = F extends 'await'
  ? `smartasync: awaited, ${Label<Name>} runs on a worker, and ${Why}, which cannot cross threads. Call ${SyncCall<Name>} to run it on this thread, or pass and return plain data (functions, symbols and class instances cannot cross).`
  : F extends 'sync'
    ? `smartasync: with .sync(), ${Label<Name>} runs its async body on the bridge worker, and ${Why}, which cannot cross threads. Await it instead: awaited, an async body runs on this thread.`
    : `smartasync: with .json(), ${Label<Name>} runs on a worker, and ${Why}, which cannot cross threads. Pass plain data.`;

/** What a call of `Form` gives back for a signature returning `R`. */
type Output<R, F extends Form> = F extends 'await'
  ? AsyncResult<R>
  : F extends 'sync'
    ? SyncResult<R>
    : Promise<string>;

/** One signature in `Form`, refused (through its `this`) when something in it cannot cross. */
type Call<S extends Signature, F extends Form, Self, Name extends string> = [Problem<S[0], S[1], F, Self>] extends [
  never,
]
  ? (...args: S[0]) => Output<S[1], F>
  : (this: Refused<Refusal<Problem<S[0], S[1], F, Self>, F, Name>>, ...args: S[0]) => Output<S[1], F>;

/** Every signature in `Form`, in order: an intersection of function types is an overloaded function. */
export type Calls<S extends Signature[], F extends Form, Self = never, Name extends string = ''> = S extends [
  infer First extends Signature,
  ...infer Rest extends Signature[],
]
  ? Call<First, F, Self, Name> & Calls<Rest, F, Self, Name>
  : unknown;

/**
 * A wrapped callable: `F`'s signatures in each form. `Self` and `Name` are set for a method
 * of a wrapped class (its instance type and its name), so that refusals can name it and see
 * a method that returns `this`.
 */
export type SmartCallable<F extends AnyFunction, Self = never, Name extends string = ''> = Calls<
  CallSignatures<F>,
  'await',
  Self,
  Name
> &
  SmartCallableMembers<F, Self, Name>;

/** The members every wrapped callable has besides its call signatures. */
export interface SmartCallableMembers<F extends AnyFunction, Self = never, Name extends string = ''> {
  /** Calls from synchronous code and returns the settled value (or throws). */
  readonly sync: Calls<CallSignatures<F>, 'sync', Self, Name>;
  /**
   * Like `f(...)`, but settles with the result as JSON text, made on the worker. For results
   * that go straight into an HTTP response: this thread never builds the objects only to
   * serialize them again. `undefined` becomes `"null"`.
   */
  readonly json: Calls<CallSignatures<F>, 'json', Self, Name>;
  /** The same function with per-call options bound: `f.with({ timeout: 500 })(x)`. */
  with(options: CallOptions): SmartCallable<F, Self, Name>;
  /** The function as written. */
  readonly original: F;
  /** Whether the body is `async` (decides which form offloads). */
  readonly isAsync: boolean;
}

/**
 * A wrapped function: one typed surface, two ways to call it, with every overload of `F`.
 * - `await f(...)`: a synchronous body runs on a worker thread; an async body runs here.
 * - `f.sync(...)`: a synchronous body runs here; an async body runs on a worker while this
 *   thread blocks until it settles.
 *
 * A form that would send something that cannot cross threads (a function, a symbol, a class
 * instance with methods, in the arguments or the result) does not compile; the message says
 * what and what to do.
 */
export type SmartFunction<F extends AnyFunction> = SmartCallable<F>;
