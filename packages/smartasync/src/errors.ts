/**
 * The errors smartasync raises itself, and the codec that carries a thrown value from a
 * worker back to the caller without losing what makes it useful (class, code, cause, stack).
 */
import { fileURLToPath } from 'node:url';
import { lookupKey, keyOfErrorClass } from './registry.ts';

/** Base class of every error smartasync raises itself; `code` is stable and machine-readable. */
export class SmartAsyncError extends Error {
  /** A stable identifier such as `ERR_SMARTASYNC_TIMEOUT`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** A call was cancelled through its `AbortSignal`. `cause` holds the signal's reason. */
export class CallAbortedError extends SmartAsyncError {
  constructor(what: string, reason: unknown) {
    super('ERR_SMARTASYNC_ABORTED', `${what} was aborted before it settled.`, { cause: reason });
  }
}

/** A call did not settle within its `timeout`. */
export class CallTimeoutError extends SmartAsyncError {
  constructor(what: string, ms: number, running: boolean) {
    super(
      'ERR_SMARTASYNC_TIMEOUT',
      `${what} did not settle within ${ms} ms` +
        (running
          ? '; it was running synchronous code that cannot be interrupted, so its worker was terminated and will be replaced.'
          : '; it was still waiting in the queue and never started.'),
    );
  }
}

/** The pool's bounded queue is full: the caller should shed load or raise `maxQueue`. */
export class QueueFullError extends SmartAsyncError {
  constructor(what: string, maxQueue: number) {
    super(
      'ERR_SMARTASYNC_QUEUE_FULL',
      `${what} was refused: the smartasync pool queue already holds ${maxQueue} calls. ` +
        'Shed load (answer 503), or raise maxQueue / size with configure().',
    );
  }
}

/**
 * The worker running a call died (uncaught error, `process.exit`, out of memory, or it was
 * terminated to stop a call that ran past its timeout) after the call had started and before
 * it finished. Calls that had not started are not failed but run on another worker, and
 * replies the worker had already written are delivered, so this error means exactly: the call
 * may have run, in part or whole (`started` is always true). Retry only what is safe to repeat.
 */
export class WorkerCrashedError extends SmartAsyncError {
  /** The call had started on the worker: it may have had effects (a write) before the end. */
  readonly started = true;
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super(
      'ERR_SMARTASYNC_WORKER_CRASHED',
      `${what} started but did not finish: its worker thread ${detail}. It may have had effects before that, so it was not run again. ` +
        'The worker has been replaced; other calls go on.',
      options,
    );
  }
}

/** A call was made after `close()`. */
export class PoolClosedError extends SmartAsyncError {
  constructor(what: string) {
    super('ERR_SMARTASYNC_CLOSED', `${what} was refused: the smartasync pool is closed.`);
  }
}

/** Code could not be found or loaded again inside a worker. */
export class RegistrationError extends SmartAsyncError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SMARTASYNC_REGISTRATION', message, options);
  }
}

// ---------------------------------------------------------------------------------------
// Codec for thrown values.

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

/** Turns anything thrown in a worker into data that survives structured clone. */
export function encodeThrown(thrown: unknown, depth = 0): ThrownData {
  const isErrorLike =
    thrown instanceof Error ||
    (typeof thrown === 'object' && thrown !== null && 'message' in thrown && 'stack' in thrown);
  if (!isErrorLike || depth > 8) {
    return { kind: 'value', value: cloneable(thrown) ? thrown : String(thrown) };
  }
  const err = thrown as Error & { errors?: unknown };
  const props: Record<string, unknown> = {};
  let unset: string[] | undefined;
  for (const key of Object.keys(err)) {
    if (key === 'cause' || key === 'errors') continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    if (v === undefined) {
      props[key] = null;
      (unset ??= []).push(key);
    } else props[key] = cloneable(v) ? v : String(v);
  }
  if ('code' in err && !('code' in props)) {
    const code = (err as { code?: unknown }).code;
    if (code === undefined) {
      props.code = null;
      (unset ??= []).push('code');
    } else if (cloneable(code)) props.code = code;
  }
  // Fields that would be undefined are left out rather than set, so that a typical error is
  // plain JSON data (see `unset`).
  const stack = typeof err.stack === 'string' ? userFrames(err.stack) : undefined;
  const classKey = nearestRegistered(err);
  const data: ThrownData = {
    kind: 'error',
    name: String(err.name),
    message: String(err.message),
    ...(stack !== undefined ? { stack } : {}),
    builtin: nearestBuiltin(err),
    ...(classKey !== undefined ? { classKey } : {}),
    props,
    ...(unset ? { unset } : {}),
    ...('cause' in err ? { cause: encodeThrown(err.cause, depth + 1) } : {}),
    ...(Array.isArray(err.errors) ? { errors: err.errors.map((e) => encodeThrown(e, depth + 1)) } : {}),
  };
  return data;
}

// Frames from smartasync's own files (the worker's dispatch loop) tell the user nothing.
// Under source maps they print as plain paths, possibly of the sibling src/ folder.
const OWN_DIR_URL = new URL('.', import.meta.url);
const OWN_MARKERS = [OWN_DIR_URL.href, fileURLToPath(OWN_DIR_URL), fileURLToPath(new URL('../src/', OWN_DIR_URL))];

function userFrames(stack: string): string {
  const lines = stack.split('\n');
  const cut = lines.findIndex((line, i) => i > 0 && line.trimStart().startsWith('at ') && OWN_MARKERS.some((m) => line.includes(m)));
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
  if (frames) Object.defineProperty(err, 'stack', { value: `${(err as Error).stack}\n${BOUNDARY}\n${frames}`, writable: true, configurable: true, enumerable: false });
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
  if (data.errors) hidden('errors', data.errors.map((e) => decodeThrown(e)));
  Object.assign(err, data.props);
  if (data.unset) for (const key of data.unset) err[key] = undefined;
  return err;
}
