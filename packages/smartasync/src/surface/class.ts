/**
 * The typed surface of a wrapped class: its constructors (every overload; none for an
 * abstract class), its static members as written, and instances whose methods are smart
 * callables bound to worker replicas.
 */
import type { AnyClass, AnyFunction } from '../types.ts';
import type { CallSignatures, ConstructSignatures, Signature } from './overloads.ts';
import type { Calls, SmartCallable } from './function.ts';

/**
 * A method of a wrapped instance: a `SmartFunction` of `T[K]` that knows its instance
 * type, so that `await instance.method()` of a method returning `this` (which cannot cross
 * threads) does not compile.
 */
export type SmartMethod<T, K extends keyof T> = SmartCallable<Extract<T[K], AnyFunction>, T, K & string>;

/**
 * `close()` of a wrapped instance: awaited, it releases every worker replica, then closes the
 * instance on this thread (with no arguments); `.sync(...)` closes this thread's instance
 * here and releases the replicas in the background.
 */
export interface SmartClose<T, F extends AnyFunction> {
  /** Releases every worker replica, then closes the instance on this thread. */
  (): Promise<void>;
  /** Closes the instance on this thread now and returns what its `close()` returns. */
  readonly sync: Calls<CallSignatures<F>, 'sync', T, 'close'>;
  /** The method as written. */
  readonly original: F;
  /** Whether the method is declared `async`. */
  readonly isAsync: boolean;
}

/** The smart form of member `K`: methods (string-keyed, as the run time wraps them) become smart callables. */
type SmartMember<T, K extends keyof T> = K extends symbol
  ? T[K]
  : [Extract<T[K], AnyFunction>] extends [never]
    ? T[K]
    : (K extends 'close' ? SmartClose<T, Extract<T[K], AnyFunction>> : SmartMethod<T, K>) | Exclude<T[K], AnyFunction>;

/** Methods of `T` become smart functions; other members keep their types. */
export type SmartMembers<T> = { [K in keyof T]: SmartMember<T, K> };

/** An instance of a wrapped class. */
export type SmartInstance<T> = Omit<SmartMembers<T>, 'sync' | typeof Symbol.asyncDispose> & {
  /** The plain instance on this thread, typed as the original class, for synchronous code. */
  readonly sync: T;
  /** Releases the worker replicas, then disposes this thread's instance. */
  [Symbol.asyncDispose](): Promise<void>;
};

type Constructors<S extends Signature[]> = S extends [
  [infer A extends unknown[], infer I],
  ...infer Rest extends Signature[],
]
  ? (new (...args: A) => SmartInstance<I>) & Constructors<Rest>
  : unknown;

/**
 * The constructors of `C`, building smart instances: every overload of a concrete class; an
 * abstract class stays abstract, so `new` on it does not compile.
 */
type SmartConstructor<C extends AnyClass> = C extends new (...args: never) => unknown
  ? Constructors<ConstructSignatures<C>>
  : ConstructSignatures<C> extends [[infer A extends unknown[], infer I]]
    ? abstract new (...args: A) => SmartInstance<I>
    : unknown;

/**
 * The static members of `C`, as written: on the wrapped class they read and write the
 * original's, and its static methods run here, on this thread, with `this` the original class.
 */
export type Statics<C extends AnyClass> = Omit<C, 'prototype' | 'original'>;

/**
 * A wrapped class: the same constructor parameters (every overload), instances with smart
 * methods, and the original's static members. A class written as a function (a constructor
 * function from a JavaScript package, such as better-sqlite3's `Database`) is wrapped as a
 * class too.
 */
export type SmartClass<C extends AnyClass> = SmartConstructor<C> &
  Statics<C> & {
    /** The class as written. */
    readonly original: C;
  };
