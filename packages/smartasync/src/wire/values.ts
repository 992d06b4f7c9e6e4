/**
 * What crosses threads. Values cross by structured clone, which silently drops what it cannot
 * carry: a class instance arrives as a plain object without its methods, a Buffer as a bare
 * Uint8Array. We walk values before sending, refuse what would arrive broken with a message
 * that names the path, tell plain JSON data apart (the transport encodes it faster), and note
 * where Buffers sit so the receiver can restore them.
 */
import type { Encoding } from './transport.ts';

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
  /** Its strings and binary data add up to more than `LARGE_VALUE`: it goes by MessagePort. */
  readonly large?: true;
}

const NEEDS_CLONE: CloneReport = Object.freeze({ buffers: undefined });
const LARGE: CloneReport = Object.freeze({ buffers: undefined, large: true });

/**
 * Past this many string units or bytes, a value skips the ring: the transport would encode
 * it, find it longer than a record may be (a quarter of the ring) and encode it again for a
 * MessagePort. A 10 MB string cost 7x a structuredClone that way.
 */
export const LARGE_VALUE = 1 << 18;

/** How the transport should encode a value the check reported on (undefined: plain JSON). */
export function encodingOf(...reports: (CloneReport | undefined)[]): Encoding {
  let encoding: Encoding = 'json';
  for (const r of reports) if (r) encoding = r.large ? 'port' : encoding === 'json' ? 'v8' : encoding;
  return encoding;
}

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
  what: Described,
  root: string,
  transfer?: readonly unknown[],
  size?: SizeTally,
): CloneReport | undefined {
  switch (typeof value) {
    case 'string':
      if (size) size.units += value.length;
      return value.length > LARGE_VALUE ? LARGE : undefined; // the common scalar: no walk at all
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
  const walk = new CloneWalk(what, root, transfer);
  walk.value(value);
  if (size) size.units += walk.size;
  if (walk.size > LARGE_VALUE) return { buffers: walk.buffers, large: true };
  if (walk.plain) return undefined;
  return walk.buffers ? { buffers: walk.buffers } : NEEDS_CLONE;
}

/**
 * What a value is, for an error message (e.g. "the arguments of hash()"); a function where
 * making the text per value would cost (a stream's items), as it is needed only on failure.
 */
export type Described = string | (() => string);

/** Adds up the string units and bytes of binary data of the values checked with it. */
export interface SizeTally {
  units: number;
}

/** One walk over a value: what it found so far, and where it is. */
class CloneWalk {
  /** Still plain JSON data. */
  plain = true;
  buffers: ValuePath[] | undefined;
  /** String units and bytes of binary data seen so far. */
  size = 0;
  private readonly seen = new Set<object>();
  private readonly path: (string | number)[] = []; // one stack, copied only when reported
  // Inside a Map or Set a Buffer has no path to restore it by: it arrives as a Uint8Array.
  private inCollection = 0;

  private readonly described: Described;
  private readonly root: string;
  private readonly transfer: readonly unknown[] | undefined;

  constructor(what: Described, root: string, transfer: readonly unknown[] | undefined) {
    this.described = what;
    this.root = root;
    this.transfer = transfer;
  }

  private get what(): string {
    return typeof this.described === 'string' ? this.described : this.described();
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.size += v.length;
        return;
      case 'boolean':
        return;
      case 'number':
        if (!isJsonNumber(v)) this.plain = false;
        return;
      case 'undefined':
      case 'bigint':
        this.plain = false;
        return;
      case 'function':
        return this.fail(
          v,
          'Functions cannot cross threads: pass data, or register the function with smartasync() and call it in the worker.',
        );
      case 'symbol':
        return this.fail(v, 'Symbols cannot cross threads: pass a string instead.');
    }
    if (v !== null) this.object(v as object);
  }

  private object(obj: object): void {
    if (this.seen.has(obj) || this.transfer?.includes(obj)) {
      this.plain = false; // shared or circular (JSON would duplicate or fail), or moved
      return;
    }
    this.seen.add(obj);
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) this.child(obj[i], i);
    } else if (PLAIN_PROTOS.has(proto)) {
      const rec = obj as Record<string, unknown>;
      for (const k in rec) this.child(rec[k], k);
    } else {
      this.plain = false;
      this.builtIn(obj, proto);
    }
  }

  /** Anything but an array or a plain object: only what structured clone keeps whole. */
  private builtIn(obj: object, proto: unknown): void {
    if (Buffer.isBuffer(obj)) {
      this.size += obj.byteLength;
      if (!this.inCollection) (this.buffers ??= []).push([...this.path]);
      return;
    }
    if (ArrayBuffer.isView(obj)) {
      this.size += obj.byteLength;
      const ctor = (proto as { constructor: Function }).constructor;
      if ((globalThis as Record<string, unknown>)[ctor.name] === ctor) return;
      this.fail(obj, 'Only built-in typed arrays keep their class across threads.');
    }
    if (obj instanceof ArrayBuffer) this.size += obj.byteLength;
    if (obj instanceof Map || obj instanceof Set) return this.collection(obj, proto);
    for (const ctor of CLONEABLE_CTORS) {
      if (obj instanceof ctor) {
        if (ctor === Error) return; // errors clone with name, message and stack
        if (proto === ctor.prototype) return;
        this.fail(obj, `Subclasses of ${ctor.name} lose their class across threads.`);
      }
    }
    this.fail(
      obj,
      'Its prototype (methods, getters, native handles) would be lost in the copy: pass a plain object or primitive values, and rebuild the instance on the other side.',
    );
  }

  private collection(obj: Map<unknown, unknown> | Set<unknown>, proto: unknown): void {
    const kind = obj instanceof Map ? Map : Set;
    if (proto !== kind.prototype) this.fail(obj, `Subclasses of ${kind.name} lose their class across threads.`);
    let i = 0;
    this.inCollection++;
    if (obj instanceof Map) {
      for (const [k, val] of obj) {
        this.child(k, `<map key ${i}>`);
        this.child(val, `<map value ${i++}>`);
      }
    } else {
      for (const item of obj) this.child(item, `<set item ${i++}>`);
    }
    this.inCollection--;
  }

  private child(v: unknown, key: string | number): void {
    if (this.path.length === MAX_DEPTH) {
      throw new TypeError(
        `smartasync: ${this.what} cannot be sent to another thread: it nests deeper than ${MAX_DEPTH} levels ` +
          `(at ${formatPath(this.root, this.path.slice(0, 3))}… ${MAX_DEPTH} levels down), more than the thread transport can encode. ` +
          'Flatten it (for instance a list of nodes that refer to their parents by id).',
      );
    }
    this.path.push(key);
    this.value(v);
    this.path.pop();
  }

  private fail(v: unknown, advice: string): never {
    throw new TypeError(
      `smartasync: ${this.what} cannot be sent to another thread: ${formatPath(this.root, this.path)} is ${describe(v)}. ${advice}`,
    );
  }
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
