/**
 * What kind of target `smartasync(...)` was given, read from the function itself: a class
 * (class syntax, or a constructor function as JavaScript packages write them), and for a
 * callable, whether its body is `async` and whether it is a generator. These decide which
 * form runs where (the 2×2 table in the README).
 */

const AsyncFunctionProto = Object.getPrototypeOf(async function () {}) as object;
const AsyncGeneratorProto = Object.getPrototypeOf(async function* () {}) as object;
const GeneratorProto = Object.getPrototypeOf(function* () {}) as object;

/** Whether `fn` is declared `async` (which decides where each form runs it). */
export function isAsyncBody(fn: Function): boolean {
  const proto = Object.getPrototypeOf(fn) as unknown;
  return proto === AsyncFunctionProto || proto === AsyncGeneratorProto;
}

/** Whether `fn` is a generator function (`function*` or `async function*`): its items stream. */
export function isGeneratorBody(fn: Function): boolean {
  const proto = Object.getPrototypeOf(fn) as unknown;
  return proto === GeneratorProto || proto === AsyncGeneratorProto;
}

/**
 * Whether `fn` is a class: class syntax, or a function whose prototype carries methods or
 * accessors, which is how JavaScript packages (better-sqlite3's `Database`) and native code
 * (`node:sqlite`'s `DatabaseSync`) write classes. Arrow functions, methods, bound and async
 * functions have no prototype; an ordinary function's holds only `constructor`; a generator
 * function's is its generators' prototype.
 */
export function isClassLike(fn: Function): boolean {
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return true;
  const proto = (fn as { prototype?: unknown }).prototype;
  if (typeof proto !== 'object' || proto === null || isGeneratorBody(fn)) return false;
  // Methods of its own, or inherited (`util.inherits`, `Object.create(Base.prototype)`).
  return (
    Reflect.ownKeys(proto).some((key) => key !== 'constructor') || Object.getPrototypeOf(proto) !== Object.prototype
  );
}
