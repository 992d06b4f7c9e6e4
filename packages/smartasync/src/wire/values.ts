/**
 * What crosses threads. Values cross by structured clone, which silently drops what it cannot
 * carry: a class instance arrives as a plain object without its methods, a Buffer as a bare
 * Uint8Array. We walk values before sending, refuse what would arrive broken with a message
 * that names the path, tell plain JSON data apart (the transport encodes it faster), and note
 * where Buffers sit so the receiver can restore them.
 */

/** A path into a value: property names and array indexes. */
export type ValuePath = readonly (string | number)[];

const PLAIN_PROTOS = new Set<unknown>([Object.prototype, null]);

/**
 * How deeply values may nest. Both encoders (JSON and v8's serializer) and their decoders
 * recurse once per level and run out of stack well before 2,000 levels on the main thread
 * (v8's serializer, nested objects: about 1,600), so a deeper value is refused here, with a
 * message, rather than failing inside the transport.
 */
export const MAX_DEPTH = 1_000;

// Built-ins that structured clone reproduces faithfully (with their prototype).
const CLONEABLE_CTORS: readonly Function[] = [
  Date,
  RegExp,
  ArrayBuffer,
  SharedArrayBuffer,
  DataView,
  Error,
  Boolean,
  Number,
  String,
  Blob,
];

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (typeof value === 'symbol') return `a symbol (${String(value)})`;
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return `an instance of ${ctor?.name ?? 'an unknown class'}`;
}

function formatPath(root: string, p: readonly (string | number)[]): string {
  return p.reduce<string>(
    (acc, k) =>
      typeof k === 'number'
        ? `${acc}[${k}]`
        : /^[A-Za-z_$][\w$]*$/.test(k)
          ? `${acc}.${k}`
          : /^<.*>$/.test(k) // a Map or Set entry: no property path reaches it
            ? `${acc}${k}`
            : `${acc}[${JSON.stringify(k)}]`,
    root,
  );
}

/**
 * What the check learned about a value that is not plain JSON data: it needs the
 * structured-clone encoding, and Buffers sit at `buffers`.
 */
export interface CloneReport {
  readonly buffers: ValuePath[] | undefined;
}

const NEEDS_CLONE: CloneReport = Object.freeze({ buffers: undefined });

function isJsonNumber(n: number): boolean {
  return Number.isFinite(n) && !Object.is(n, -0);
}

/**
 * Checks that `value` survives structured clone intact; throws a TypeError naming `what`
 * (e.g. "the arguments of hash()") and the path to the offending part.
 *
 * Returns undefined for plain JSON data (objects, arrays, strings, finite numbers, booleans,
 * null; `undefined` only at the root), which the transport may encode as JSON, several
 * times cheaper than v8's serializer. Otherwise returns a report with the Buffers' paths.
 */
export function checkCloneable(
  value: unknown,
  what: string,
  root: string,
  transfer?: readonly unknown[],
): CloneReport | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return isJsonNumber(value) ? undefined : NEEDS_CLONE;
    case 'bigint':
      return NEEDS_CLONE;
    default:
      if (value === null) return undefined;
  }
  let plain = true;
  let buffers: ValuePath[] | undefined;
  const seen = new Set<object>();
  const path: (string | number)[] = []; // one stack, copied only when reported
  const fail = (v: unknown, advice: string): never => {
    throw new TypeError(
      `smartasync: ${what} cannot be sent to another thread: ${formatPath(root, path)} is ${describe(v)}. ${advice}`,
    );
  };
  // Inside a Map or Set a Buffer has no path to restore it by: it arrives as a Uint8Array.
  let inCollection = 0;
  const child = (v: unknown, key: string | number): void => {
    if (path.length === MAX_DEPTH) {
      throw new TypeError(
        `smartasync: ${what} cannot be sent to another thread: it nests deeper than ${MAX_DEPTH} levels ` +
          `(at ${formatPath(root, path.slice(0, 3))}… ${MAX_DEPTH} levels down), more than the thread transport can encode. ` +
          'Flatten it (for instance a list of nodes that refer to their parents by id).',
      );
    }
    path.push(key);
    walk(v);
    path.pop();
  };
  const walk = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!isJsonNumber(v)) plain = false;
        return;
      case 'undefined':
      case 'bigint':
        plain = false;
        return;
      case 'function':
        fail(
          v,
          'Functions cannot cross threads: pass data, or register the function with smartasync() and call it in the worker.',
        );
        return;
      case 'symbol':
        fail(v, 'Symbols cannot cross threads: pass a string instead.');
        return;
    }
    if (v === null) return;
    const obj = v as object;
    if (seen.has(obj)) {
      plain = false; // shared or circular: JSON would duplicate or fail
      return;
    }
    seen.add(obj);
    if (transfer?.includes(obj)) {
      plain = false;
      return;
    }
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) child(obj[i], i);
      return;
    }
    if (PLAIN_PROTOS.has(proto)) {
      const rec = obj as Record<string, unknown>;
      for (const k in rec) child(rec[k], k);
      return;
    }
    plain = false;
    if (Buffer.isBuffer(obj)) {
      if (!inCollection) (buffers ??= []).push([...path]);
      return;
    }
    if (ArrayBuffer.isView(obj)) {
      const ctor = (proto as { constructor: Function }).constructor;
      if ((globalThis as Record<string, unknown>)[ctor.name] === ctor) return;
      fail(obj, 'Only built-in typed arrays keep their class across threads.');
    }
    if (obj instanceof Map) {
      if (proto !== Map.prototype) fail(obj, 'Subclasses of Map lose their class across threads.');
      let i = 0;
      inCollection++;
      for (const [k, val] of obj) {
        child(k, `<map key ${i}>`);
        child(val, `<map value ${i++}>`);
      }
      inCollection--;
      return;
    }
    if (obj instanceof Set) {
      if (proto !== Set.prototype) fail(obj, 'Subclasses of Set lose their class across threads.');
      let i = 0;
      inCollection++;
      for (const item of obj) child(item, `<set item ${i++}>`);
      inCollection--;
      return;
    }
    for (const ctor of CLONEABLE_CTORS) {
      if (obj instanceof ctor) {
        if (ctor === Error) return; // errors clone with name, message and stack
        if (proto === ctor.prototype) return;
        fail(obj, `Subclasses of ${ctor.name} lose their class across threads.`);
      }
    }
    fail(
      obj,
      'Its prototype (methods, getters, native handles) would be lost in the copy: pass a plain object or primitive values, and rebuild the instance on the other side.',
    );
  };
  walk(value);
  if (plain) return undefined;
  return buffers ? { buffers } : NEEDS_CLONE;
}

/** Whether `value` is plain JSON data, as `checkCloneable` defines it; never throws. */
export function isPlainJson(value: unknown): boolean {
  try {
    return checkCloneable(value, 'the value', 'value') === undefined;
  } catch {
    return false; // structured clone may still carry it (the caller decides)
  }
}

/** Turns the Uint8Arrays at `paths` back into Buffers sharing the same memory. */
export function restoreBuffers<T>(value: T, paths: readonly ValuePath[] | undefined): T {
  if (!paths) return value;
  for (const p of paths) {
    if (p.length === 0) {
      const u8 = value as unknown as Uint8Array;
      return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength) as unknown as T;
    }
    let parent = value as unknown as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1]!;
    const u8 = parent[last] as Uint8Array;
    parent[last] = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  }
  return value;
}

/** JSON text of a result, as `f.json()` promises: `undefined` becomes `null`. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
