/**
 * The API layer: `smartasync(fn)` and `smartasync(Class)`. It decides, per call, whether the
 * body runs here or elsewhere (the 2×2 table in the README) and hands elsewhere-calls to the
 * pool or the sync bridge as Tasks. It never touches a worker or a message.
 */
import { register, type Registration } from './registry.ts';
import { checkCloneable } from './clone.ts';
import { RegistrationError, appendCallerFrames } from './errors.ts';
import { inSmartasyncWorker, isEntryModule } from './environment.ts';
import { getPool } from './pool.ts';
import type { InstanceRef, Task } from './task.ts';
import { CallProfile, RECENT } from './profile.ts';
import { runBlocking } from './sync-bridge.ts';
import { toJsonText } from './json-text.ts';
import { trackInstance, attachInstance, releaseInBackground } from './instances.ts';
import type { AnyClass, AnyFunction, CallOptions, ClassOptions, FunctionOptions, SmartClass, SmartFunction } from './types.ts';

/**
 * The `offload: 'auto'` policy for one function or method: it runs inline while at least 7 of
 * its latest 8 calls finished under the threshold, and goes back to workers when a second
 * one in 8 did not. One slow call is not a verdict: on a busy machine an inline call is now
 * and then preempted or caught by a GC pause, and those would otherwise flip it for nothing.
 */
class AutoInline {
  private readonly profile: CallProfile;
  private readonly thresholdMs: number;

  constructor(profile: CallProfile, thresholdMs: number) {
    this.profile = profile;
    this.thresholdMs = thresholdMs;
  }

  get inline(): boolean {
    if (this.profile.count < RECENT) return false;
    let slow = 0;
    for (const ms of this.profile.recent) if (ms >= this.thresholdMs) slow++;
    return slow <= 1;
  }
}

function autoInline(options: FunctionOptions | undefined, what: string, profile: CallProfile): AutoInline | undefined {
  const mode = options?.offload ?? 'always';
  if (mode !== 'always' && mode !== 'auto') {
    throw new TypeError(`smartasync: offload for ${what} must be 'always' or 'auto', got ${JSON.stringify(mode)}.`);
  }
  const below = options?.inlineBelowMs ?? 0.1;
  if (!(below >= 0)) throw new RangeError(`smartasync: inlineBelowMs for ${what} must be a number of milliseconds ≥ 0.`);
  return mode === 'auto' ? new AutoInline(profile, below) : undefined;
}

/** One callable as the API layer knows it: how to run it here, and what a Task for it needs. */
export interface Binding {
  readonly reg: Registration;
  readonly label: string;
  readonly isAsync: boolean;
  readonly original: AnyFunction;
  inline(args: unknown[]): unknown;
  readonly instance?: InstanceRef;
  readonly method?: string;
  readonly onChanged?: (fields: string[]) => void;
  /** What its calls have shown so far (shared by every instance, for a method). */
  readonly profile: CallProfile;
  /** Set with `offload: 'auto'`. */
  readonly auto?: AutoInline;
}

const AsyncFunctionProto = Object.getPrototypeOf(async function () {}) as object;
const AsyncGeneratorProto = Object.getPrototypeOf(async function* () {}) as object;

export function isAsyncBody(fn: Function): boolean {
  const proto = Object.getPrototypeOf(fn) as unknown;
  return proto === AsyncFunctionProto || proto === AsyncGeneratorProto;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

const checkedSites = new WeakSet<Registration>();

/** Refuses, with the reason and the fix, a registration a worker could never find. */
export function assertOffloadable(reg: Registration): void {
  if (checkedSites.has(reg)) return;
  if (!reg.site) {
    throw new RegistrationError(
      `smartasync: cannot offload ${reg.label}: its registration site is unknown, so a worker cannot find it. ` +
        'Call smartasync(...) at the top level of an ES or CommonJS module file.',
    );
  }
  if (isEntryModule(reg.site.moduleUrl)) {
    throw new RegistrationError(
      `smartasync: cannot offload ${reg.label}: it is registered in ${reg.where}, the module this process was started with. ` +
        'A worker finds it by importing its module, which would run your whole program again (start the server, parse argv, ...). ' +
        `Move ${reg.label} and its smartasync(...) call into a module of its own and import it from here.`,
    );
  }
  checkedSites.add(reg);
}

/**
 * Awaits an offloaded call so that a failure is handled inside an async function the caller
 * awaits: a stack captured there holds the caller's frames through V8's async stack traces,
 * at no cost to calls that succeed (capturing at every call costs ~2 µs).
 */
export async function settleHere(pending: Promise<unknown>): Promise<unknown> {
  try {
    return await pending;
  } catch (err) {
    appendCallerFrames(err, captureCaller(settleHere).stack);
    throw err;
  }
}

function captureCaller(fn: Function): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn); // formatted lazily, only if an error needs it
  return holder;
}

/** What the pool or the bridge needs to run one call of `b`. */
export function taskFor(
  b: Binding,
  args: unknown[],
  options: CallOptions | undefined,
  resultAsJson = false,
  caller?: { readonly stack?: string },
): Task {
  // One literal of one shape (absent parts undefined), not spreads: this runs on every call.
  return {
    reg: b.reg,
    label: b.label,
    args,
    argsReport: checkCloneable(args, `the arguments of ${b.label}`, 'args', options?.transfer),
    instance: b.instance,
    method: b.method,
    options,
    onChanged: b.onChanged,
    profile: b.profile,
    resultAsJson,
    caller,
  };
}

/** Runs `run()` on this thread as a settled promise, for callers that always get one. */
function settled(run: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(run());
  } catch (err) {
    return Promise.reject(err);
  }
}

function makeSmartFunction<F extends AnyFunction>(b: Binding, options?: CallOptions): SmartFunction<F> {
  const offload = (args: unknown[], resultAsJson: boolean): Promise<unknown> =>
    settled(() => {
      assertOffloadable(b.reg);
      return settleHere(getPool().run(taskFor(b, args, options, resultAsJson)));
    });
  const call = function (...args: unknown[]): Promise<unknown> {
    if (b.isAsync || inSmartasyncWorker) return settled(() => b.inline(args));
    const auto = b.auto;
    if (auto?.inline) {
      const started = performance.now();
      try {
        return settled(() => b.inline(args));
      } finally {
        b.profile.record(performance.now() - started);
      }
    }
    return offload(args, false);
  };
  // For results that go straight into an HTTP response: the worker makes the JSON text, so
  // this thread never builds the objects only to serialize them again.
  const json = function (...args: unknown[]): Promise<string> {
    if (b.isAsync || inSmartasyncWorker) return call(...args).then(toJsonText);
    return offload(args, true) as Promise<string>;
  };
  const sync = function (...args: unknown[]): unknown {
    if (!b.isAsync) return b.inline(args);
    assertOffloadable(b.reg);
    return runBlocking(taskFor(b, args, options, false, syncCaller));
  };
  // sync() blocks until the reply, so a failure is decoded while the caller's frames are
  // still on the stack: capture them only then, not on every call (a capture costs ~2 µs).
  const syncCaller = {
    get stack(): string | undefined {
      return captureCaller(sync).stack;
    },
  };
  Object.defineProperties(call, {
    name: { value: b.original.name },
    sync: { value: sync },
    json: { value: json },
    with: { value: (more: CallOptions) => makeSmartFunction(b, { ...options, ...more }) },
    original: { value: b.original },
    isAsync: { value: b.isAsync },
  });
  return call as unknown as SmartFunction<F>;
}

function wrapFunction<F extends AnyFunction>(fn: F, options?: FunctionOptions): SmartFunction<F> {
  const reg = register('function', fn);
  const profile = new CallProfile();
  return makeSmartFunction<F>({
    reg,
    label: reg.label,
    isAsync: isAsyncBody(fn),
    original: fn,
    inline: (args) => fn(...args),
    profile,
    auto: autoInline(options, reg.label, profile),
  });
}

// ---- classes --------------------------------------------------------------------------

const warnedChanges = new Set<string>();

function warnOnChange(className: string, method: string): ((fields: string[]) => void) | undefined {
  if (process.env.NODE_ENV === 'production') return undefined;
  return (fields) => {
    const id = `${className}#${method}`;
    if (warnedChanges.has(id)) return;
    warnedChanges.add(id);
    process.emitWarning(
      `${className}#${method}() changed ${fields.map((f) => `this.${f}`).join(', ')} on a worker's replica. ` +
        'Each worker has its own replica, so such changes are not seen by this thread or by other workers. ' +
        "Keep shared state in the database (or other external store), or use { placement: 'pinned' } and read it back through a method. " +
        'This warning is shown in development only (NODE_ENV !== "production").',
      { type: 'SmartAsyncWarning', code: 'SMARTASYNC_REPLICA_CHANGED' },
    );
  };
}

function wrapClass<C extends AnyClass>(Cls: C, options: ClassOptions = {}): SmartClass<C> {
  const reg = register('class', Cls);
  if (options.placement !== undefined && options.placement !== 'spread' && options.placement !== 'pinned') {
    throw new TypeError(`smartasync: placement for class ${Cls.name} must be 'spread' or 'pinned', got ${JSON.stringify(options.placement)}.`);
  }
  if ('sync' in Cls.prototype) {
    throw new TypeError(
      `smartasync: class ${Cls.name} has a member named "sync", which a wrapped instance uses for the plain instance. Rename it.`,
    );
  }
  const proxies = new WeakSet<object>();
  autoInline(options, `class ${Cls.name}`, new CallProfile()); // validates now
  // One profile (and policy) per method for all instances: they share the code and the data it touches.
  const profiles = new Map<string, { profile: CallProfile; auto: AutoInline | undefined }>();
  const profileOf = (key: string): { profile: CallProfile; auto: AutoInline | undefined } => {
    let known = profiles.get(key);
    if (!known) {
      const profile = new CallProfile();
      profiles.set(key, (known = { profile, auto: autoInline(options, `class ${Cls.name}`, profile) }));
    }
    return known;
  };

  const Wrapped = function (this: unknown, ...args: unknown[]): object {
    if (!new.target) throw new TypeError(`Class constructor ${Cls.name} cannot be invoked without 'new'`);
    const ref = trackInstance(reg, args, options.placement);
    const inner = new (Cls as unknown as new (...a: unknown[]) => Record<string | symbol, unknown>)(...args);
    const methods = new Map<string | symbol, unknown>();
    let dispose: () => Promise<void> = () => Promise.resolve();

    const method = (key: string): unknown => {
      let fn = methods.get(key);
      if (!fn) {
        const original = inner[key] as AnyFunction;
        fn = makeSmartFunction({
          reg,
          label: `${Cls.name}#${key}()`,
          isAsync: isAsyncBody(original),
          original,
          inline: (a) => (inner[key] as AnyFunction).apply(inner, a),
          instance: ref,
          method: key,
          ...profileOf(key),
          ...(key === 'close' ? {} : { onChanged: warnOnChange(Cls.name, key) }),
        });
        if (key === 'close') {
          // Closing the wrapped instance closes every replica and this thread's instance.
          const close = fn as SmartFunction<AnyFunction>;
          fn = Object.assign(() => dispose(), { sync: () => (releaseInBackground(ref), close.sync()), original: close.original });
        }
        methods.set(key, fn);
      }
      return fn;
    };

    const proxy = new Proxy(inner, {
      get(target, key) {
        if (key === 'sync') return inner;
        if (key === Symbol.asyncDispose) return dispose;
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value === 'function' && typeof key === 'string' && key !== 'constructor') return method(key);
        return value;
      },
      set(target, key, value) {
        return Reflect.set(target, key, value, target);
      },
    });
    proxies.add(proxy);
    dispose = attachInstance(proxy, ref, inner);
    return proxy;
  };
  Object.defineProperties(Wrapped, {
    name: { value: Cls.name },
    original: { value: Cls },
    [Symbol.hasInstance]: { value: (x: unknown) => typeof x === 'object' && x !== null && proxies.has(x) },
  });
  Wrapped.prototype = Cls.prototype;
  return Wrapped as unknown as SmartClass<C>;
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
export function smartasync<C extends AnyClass>(target: C, options?: ClassOptions): SmartClass<C>;
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
  return isClass(target) ? wrapClass(target as AnyClass, options) : wrapFunction(target as AnyFunction, options);
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

