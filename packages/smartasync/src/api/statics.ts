/**
 * Static members of a wrapped class: `Wrapped.fromEnv()` is `Original.fromEnv()`. They are
 * the original's, read and written through, and its static methods run on this thread with
 * `this` the original class, as the types (`Statics<C>`) say: a `static create() { return new
 * this() }` builds a plain instance, typed as one.
 */
import { isClassLike } from './kind.ts';

/** What a wrapped class has of its own, which no static of the original may shadow. */
const OWN = new Set<PropertyKey>([
  'prototype',
  'name',
  'length',
  'original',
  'caller',
  'arguments',
  Symbol.hasInstance,
]);

/**
 * Every static key of `Cls`: its own and those it inherits from parent classes, up to (not
 * including) `Function.prototype`, found as the object whose parent is a root object, so
 * that a class from another realm (a Jest test's vm context) stops at its own.
 */
function staticKeys(Cls: Function): Set<PropertyKey> {
  const keys = new Set<PropertyKey>();
  for (let c: object | null = Cls; c; c = Object.getPrototypeOf(c) as object | null) {
    const parent = Object.getPrototypeOf(c) as object | null;
    if (parent === null || Object.getPrototypeOf(parent) === null) break;
    for (const key of Reflect.ownKeys(c)) if (!OWN.has(key)) keys.add(key);
  }
  return keys;
}

/** Gives `Wrapped` the static members of `Cls`, as accessors that read and write `Cls`'s. */
export function carryStatics(Wrapped: Function, Cls: Function): void {
  const bound = new WeakMap<Function, Function>();
  const read = (key: PropertyKey): unknown => {
    const value = Reflect.get(Cls, key) as unknown;
    if (typeof value !== 'function' || isClassLike(value)) return value; // a nested class keeps its identity
    let method = bound.get(value);
    if (!method) bound.set(value, (method = value.bind(Cls)));
    return method;
  };
  for (const key of staticKeys(Cls)) {
    Object.defineProperty(Wrapped, key, {
      get: () => read(key),
      set: (value: unknown) => void Reflect.set(Cls, key, value),
      enumerable: Object.prototype.propertyIsEnumerable.call(Cls, key),
      configurable: true,
    });
  }
}
