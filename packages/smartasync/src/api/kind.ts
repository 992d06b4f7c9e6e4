/**
 * What kind of target `smartasync(...)` was given, read from the function itself: a class
 * (class syntax, or a constructor function as JavaScript packages write them), and for a
 * callable, whether its body is `async` and whether it is a generator. These decide which
 * form runs where (the 2×2 table in the README).
 */

/**
 * The kind of function `fn` is, as its built-in tag says (`AsyncFunction`,
 * `GeneratorFunction`, `AsyncGeneratorFunction`, or `Function`). The tag is read rather than
 * the prototype compared with this realm's, so that a function from another realm (Node's own
 * modules seen from a Jest test, whose code runs in a vm context) is told apart all the same.
 */
function tag(fn: Function): string {
  return Object.prototype.toString.call(fn).slice(8, -1);
}

/** Whether `fn` is declared `async` (which decides where each form runs it). */
export function isAsyncBody(fn: Function): boolean {
  const kind = tag(fn);
  return kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction';
}

/** Whether `fn` is a generator function (`function*` or `async function*`): its items stream. */
export function isGeneratorBody(fn: Function): boolean {
  const kind = tag(fn);
  return kind === 'GeneratorFunction' || kind === 'AsyncGeneratorFunction';
}

/**
 * Whether `fn` is a class: class syntax, or a function whose prototype carries methods or
 * accessors, own or inherited, which is how JavaScript packages (better-sqlite3's `Database`)
 * and native code (`node:sqlite`'s `DatabaseSync`) write classes. Arrow functions, methods,
 * bound and async functions have no prototype; an ordinary function's holds only
 * `constructor` and inherits from `Object.prototype` (of its own realm: checked by its having
 * no parent); a generator function's is its generators' prototype.
 */
export function isClassLike(fn: Function): boolean {
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return true;
  const proto = (fn as { prototype?: unknown }).prototype;
  if (typeof proto !== 'object' || proto === null || isGeneratorBody(fn)) return false;
  if (Reflect.ownKeys(proto).some((key) => key !== 'constructor')) return true;
  // Inherited methods (`util.inherits`, `Object.create(Base.prototype)`): a parent that is not a root object.
  const parent = Object.getPrototypeOf(proto) as object | null;
  return parent !== null && Object.getPrototypeOf(parent) !== null;
}
