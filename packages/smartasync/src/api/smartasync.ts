/**
 * `smartasync(fn)` and `smartasync(Class)`, and `registerError`: the entry points of the API
 * layer. Functions and classes share one call path (call.ts); classes, the instance model
 * (class.ts, instances.ts).
 */
import { register } from '../registry/registry.ts';
import type { AnyClass, AnyFunction, ClassOptions, FunctionOptions } from '../types.ts';
import type { SmartFunction } from '../surface/function.ts';
import type { SmartClass } from '../surface/class.ts';
import { CallPolicy, makeSmartFunction } from './call.ts';
import { isAsyncBody, isClassLike, isGeneratorBody } from './kind.ts';
import { wrapClass } from './class.ts';

function wrapFunction<F extends AnyFunction>(fn: F, options?: FunctionOptions): SmartFunction<F> {
  const reg = register('function', fn);
  return makeSmartFunction<F>({
    reg,
    label: reg.label,
    isAsync: isAsyncBody(fn),
    isGenerator: isGeneratorBody(fn),
    original: fn,
    inline: (args) => fn(...args),
    policy: new CallPolicy(options, reg.label),
  });
}

/**
 * Wraps a class: same constructor, and every method of an instance becomes a
 * {@link SmartFunction}. Call it at the top level of a module that is not the entry module.
 *
 * @example
 * ```ts
 * export const Users = smartasync(UserRepo);
 * const users = new Users('users.db');
 * await users.findAll();      // on a worker, with its own replica of UserRepo
 * users.findAll.sync();       // here, on users.sync
 * ```
 */
export function smartasync<C extends AnyClass>(target: C, options?: ClassOptions<InstanceType<C>>): SmartClass<C>;
/**
 * Wraps a function: `await f(...)` runs a synchronous body on a worker thread and an async
 * body here; `f.sync(...)` runs a synchronous body here and an async body on a worker while
 * this thread blocks. Call it at the top level of a module that is not the entry module.
 *
 * @example
 * ```ts
 * export const hash = smartasync((pw: string) => scryptSync(pw, salt, 64).toString('hex'));
 * await hash('secret');       // on a worker: the event loop stays free
 * hash.sync('secret');        // inline, for scripts
 * ```
 */
export function smartasync<F extends AnyFunction>(target: F, options?: FunctionOptions): SmartFunction<F>;
export function smartasync(target: unknown, options?: ClassOptions): unknown {
  if (typeof target !== 'function') {
    throw new TypeError(`smartasync: expected a function or a class, got ${target === null ? 'null' : typeof target}.`);
  }
  return isClassLike(target) ? wrapClass(target as AnyClass, options) : wrapFunction(target as AnyFunction, options);
}

/**
 * Registers an error class so that errors of that class thrown in a worker arrive as
 * instances of it (`instanceof` holds). Call at module top level, in a module loaded on both
 * sides (the module that defines the class is ideal). Returns the class unchanged.
 */
export function registerError<E extends abstract new (...args: never[]) => Error>(ErrorClass: E): E {
  register('error', ErrorClass);
  return ErrorClass;
}
