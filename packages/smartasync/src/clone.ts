/**
 * Values cross threads by structured clone, which silently drops what it cannot carry:
 * a class instance arrives as a plain object without its methods, a Buffer as a bare
 * Uint8Array. We walk values before sending, refuse what would arrive broken with a message
 * that names the path, and note where Buffers sit so the receiver can restore them.
 */

/** A path into a value: property names and array indexes. */
export type ValuePath = readonly (string | number)[];

const PLAIN_PROTOS = new Set<unknown>([Object.prototype, null]);

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

function formatPath(root: string, p: ValuePath): string {
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
 * Checks that `value` survives structured clone intact; throws a TypeError naming `what`
 * (e.g. "argument 1 of hash()") and the path to the offending part. Returns the paths of
 * any Buffers, or undefined when there are none (the common case allocates nothing).
 */
export function checkCloneable(
  value: unknown,
  what: string,
  root: string,
  transfer?: readonly unknown[],
): ValuePath[] | undefined {
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') return undefined;
  if (value === null) return undefined;
  let buffers: ValuePath[] | undefined;
  const seen = new Set<object>();
  const fail = (p: ValuePath, v: unknown, advice: string): never => {
    throw new TypeError(`smartasync: ${what} cannot be sent to another thread: ${formatPath(root, p)} is ${describe(v)}. ${advice}`);
  };
  // Inside a Map or Set a Buffer has no path to restore it by: it arrives as a Uint8Array.
  let inCollection = 0;
  const walk = (v: unknown, p: (string | number)[]): void => {
    if (typeof v === 'function') fail(p, v, 'Functions cannot cross threads: pass data, or register the function with smartasync() and call it in the worker.');
    if (typeof v === 'symbol') fail(p, v, 'Symbols cannot cross threads: pass a string instead.');
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (transfer?.includes(v)) return;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...p, i]);
      return;
    }
    if (PLAIN_PROTOS.has(proto)) {
      for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], [...p, k]);
      return;
    }
    if (Buffer.isBuffer(v)) {
      if (!inCollection) (buffers ??= []).push([...p]);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      const ctor = (proto as { constructor: Function }).constructor;
      if ((globalThis as Record<string, unknown>)[ctor.name] === ctor) return;
      fail(p, v, 'Only built-in typed arrays keep their class across threads.');
    }
    if (v instanceof Map) {
      if (proto !== Map.prototype) fail(p, v, 'Subclasses of Map lose their class across threads.');
      let i = 0;
      inCollection++;
      for (const [k, val] of v) {
        walk(k, [...p, `<map key ${i}>`]);
        walk(val, [...p, `<map value ${i++}>`]);
      }
      inCollection--;
      return;
    }
    if (v instanceof Set) {
      if (proto !== Set.prototype) fail(p, v, 'Subclasses of Set lose their class across threads.');
      let i = 0;
      inCollection++;
      for (const item of v) walk(item, [...p, `<set item ${i++}>`]);
      inCollection--;
      return;
    }
    for (const ctor of CLONEABLE_CTORS) {
      if (v instanceof ctor) {
        if (ctor === Error) return; // errors clone with name, message and stack
        if (proto === ctor.prototype) return;
        fail(p, v, `Subclasses of ${ctor.name} lose their class across threads.`);
      }
    }
    fail(
      p,
      v,
      'Its prototype (methods, getters, native handles) would be lost in the copy: pass a plain object or primitive values, and rebuild the instance on the other side.',
    );
  };
  walk(value, []);
  return buffers;
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
