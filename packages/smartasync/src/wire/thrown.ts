/**
 * The thrown-value codec: carries whatever a worker threw back to the caller without losing
 * what makes it useful (class, code, cause, errors, own properties, stack), and joins the
 * caller's frames to the worker's.
 */
import { keyOfErrorClass, lookupKey } from '../registry/registry.ts';
import { isOwnFrame } from '../registry/call-site.ts';
import {
  CallAbortedError,
  CallTimeoutError,
  PoolClosedError,
  QueueFullError,
  RegistrationError,
  SmartAsyncError,
  WorkerCrashedError,
} from '../errors.ts';

/** What crosses the thread boundary for a thrown value. */
export type ThrownData =
  | { readonly kind: 'value'; readonly value: unknown }
  | {
      readonly kind: 'error';
      readonly name: string;
      readonly message: string;
      readonly stack?: string;
      /** Name of the nearest built-in error class on the prototype chain. */
      readonly builtin: string;
      /** Registry key of the nearest registered custom class, if any. */
      readonly classKey?: string;
      readonly props: Record<string, unknown>;
      /**
       * Own properties whose value is `undefined` (`props` holds null in their place, which
       * keeps their order): JSON cannot carry undefined, and errors should cross as JSON.
       */
      readonly unset?: string[];
      readonly cause?: ThrownData;
      readonly errors?: ThrownData[];
    };

const BUILTINS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as ErrorConstructor,
};

function nearestBuiltin(err: object): string {
  for (let proto = Object.getPrototypeOf(err); proto; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && BUILTINS[ctor.name] === ctor) return ctor.name;
  }
  return 'Error';
}

function nearestRegistered(err: object): string | undefined {
  for (let proto = Object.getPrototypeOf(err); proto; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function') {
      const key = keyOfErrorClass(ctor);
      if (key) return key;
    }
  }
  return undefined;
}

/** Whether structured clone can carry `value` intact; cheap for primitives. */
function cloneable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) {
    return true;
  }
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** `read()`, or what to say instead when reading throws (a getter, a proxy, a poisoned toString). */
function safely<T>(read: () => T, instead: (err: unknown) => T): T {
  try {
    return read();
  } catch (err) {
    return instead(err);
  }
}

const unreadable = (err: unknown) =>
  `[unreadable: ${safely(
    () => String((err as Error)?.message ?? err),
    () => 'it threw',
  )}]`;

/** `String(value)`, or a description when even that throws. */
function text(value: unknown): string {
  return safely(() => String(value), unreadable);
}

/**
 * Turns anything thrown in a worker into data that survives structured clone. Never throws:
 * whatever the value does when read (a getter that throws, a revoked proxy, a name whose
 * toString throws), it fails its own call, with as much of it as could be read.
 */
export function encodeThrown(thrown: unknown, depth = 0): ThrownData {
  return safely(
    () => encodeOnce(thrown, depth),
    (err) => ({
      kind: 'error',
      name: 'Error',
      message: `a thrown value that could not be read ${unreadable(err)}`,
      builtin: 'Error',
      props: {},
    }),
  );
}

function encodeOnce(thrown: unknown, depth: number): ThrownData {
  const isErrorLike =
    thrown instanceof Error ||
    (typeof thrown === 'object' && thrown !== null && 'message' in thrown && 'stack' in thrown);
  if (!isErrorLike || depth > 8) {
    return { kind: 'value', value: cloneable(thrown) ? thrown : text(thrown) };
  }
  const err = thrown as Error & { errors?: unknown };
  const { props, unset } = ownProps(err);
  const stack = read(() => err.stack);
  const classKey = nearestRegistered(err);
  const errors = read(() => err.errors);
  // Fields that would be undefined are left out rather than set, so that a typical error is
  // plain JSON data (see `unset`).
  return {
    kind: 'error',
    name: safely(
      () => String(err.name),
      () => text(read(() => err.constructor?.name) ?? 'Error'),
    ),
    message: safely(() => String(err.message), unreadable),
    ...(typeof stack === 'string' ? { stack: userFrames(stack) } : {}),
    builtin: nearestBuiltin(err),
    ...(classKey !== undefined ? { classKey } : {}),
    props,
    ...(unset ? { unset } : {}),
    ...safely(
      () => ('cause' in err ? { cause: encodeThrown(err.cause, depth + 1) } : {}),
      () => ({}),
    ),
    ...(Array.isArray(errors) ? { errors: errors.map((e) => encodeThrown(e, depth + 1)) } : {}),
  };
}

/** What `get()` reads, or undefined if reading it throws. */
function read<T>(get: () => T): T | undefined {
  return safely(get, () => undefined);
}

/**
 * An error's own fields (and an inherited `code`, as Node's system errors have), each made
 * cloneable; `unset` names those that were undefined, sent as null to stay JSON. A field whose
 * getter throws is sent as a note saying so.
 */
function ownProps(err: Error): { props: Record<string, unknown>; unset: string[] | undefined } {
  const props: Record<string, unknown> = {};
  let unset: string[] | undefined;
  for (const key of safely(
    () => Object.keys(err),
    () => [],
  )) {
    if (key === 'cause' || key === 'errors') continue;
    const v = safely(() => (err as unknown as Record<string, unknown>)[key], unreadable);
    if (v === undefined) {
      props[key] = null;
      (unset ??= []).push(key);
    } else props[key] = cloneable(v) ? v : text(v);
  }
  const code = safely(
    () => ('code' in err && !('code' in props) ? { v: (err as { code?: unknown }).code } : undefined),
    () => undefined,
  );
  if (code) {
    if (code.v === undefined) {
      props.code = null;
      (unset ??= []).push('code');
    } else if (cloneable(code.v)) props.code = code.v;
  }
  return { props, unset };
}

// Frames from smartasync's own files (the worker's dispatch loop) tell the user nothing.
function userFrames(stack: string): string {
  const lines = stack.split('\n');
  const cut = lines.findIndex((line, i) => i > 0 && isOwnFrame(line));
  return cut > 0 ? lines.slice(0, cut).join('\n') : stack;
}

// Our own errors raised in a worker (a registration failure, say) keep their class too.
const OWN_ERRORS: Record<string, { prototype: object }> = {
  SmartAsyncError,
  CallAbortedError,
  CallTimeoutError,
  QueueFullError,
  WorkerCrashedError,
  PoolClosedError,
  RegistrationError,
};

/** Why the `at` lines after the worker's own frames belong to the caller. */
const BOUNDARY = '    at <smartasync: worker thread boundary>';

/** Errors rebuilt from a worker, whose stacks can take the caller's frames. */
const fromWorker = new WeakSet<object>();

/**
 * Appends the caller's frames (a stack captured on the calling side) to an error that came
 * from a worker, after a boundary line. Other values are left alone.
 */
export function appendCallerFrames(err: unknown, callerStack: string | undefined): void {
  if (typeof err !== 'object' || err === null || !fromWorker.has(err) || !callerStack) return;
  fromWorker.delete(err); // once
  const frames = callerStack.split('\n').slice(1).join('\n');
  if (frames)
    Object.defineProperty(err, 'stack', {
      value: `${(err as Error).stack}\n${BOUNDARY}\n${frames}`,
      writable: true,
      configurable: true,
      enumerable: false,
    });
}

/** Rebuilds a thrown value on the caller's side; `callerStack` is captured at the call. */
export function decodeThrown(data: ThrownData, callerStack?: string): unknown {
  if (data.kind === 'value') return data.value;
  let proto: object = (BUILTINS[data.builtin] ?? Error).prototype;
  const own = OWN_ERRORS[data.name];
  if (own && String(data.props.code).startsWith('ERR_SMARTASYNC_')) proto = own.prototype;
  if (data.classKey) {
    const reg = lookupKey(data.classKey);
    if (reg) proto = (reg.target as { prototype: object }).prototype;
  }
  const err = Object.create(proto) as Error & Record<string, unknown>;
  const hidden = (key: string, value: unknown): void => {
    Object.defineProperty(err, key, { value, writable: true, configurable: true, enumerable: false });
  };
  hidden('message', data.message);
  if (err.name !== data.name) hidden('name', data.name);
  const frames = callerStack?.split('\n').slice(1).join('\n');
  hidden('stack', frames ? `${data.stack ?? `${data.name}: ${data.message}`}\n${BOUNDARY}\n${frames}` : data.stack);
  if (!frames) fromWorker.add(err);
  if (data.cause) hidden('cause', decodeThrown(data.cause));
  if (data.errors)
    hidden(
      'errors',
      data.errors.map((e) => decodeThrown(e)),
    );
  Object.assign(err, data.props);
  if (data.unset) for (const key of data.unset) err[key] = undefined;
  return err;
}
