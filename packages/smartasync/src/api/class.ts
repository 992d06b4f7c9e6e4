/**
 * Classes: `smartasync(Class)` wraps instances in a proxy whose methods are smart functions
 * bound to worker replicas; `@offloadable` classes (decorators.ts) share the same model, so
 * both forms validate the same options, keep one policy per method and warn alike when a
 * worker-side call changes a replica.
 */
import { labelOf, nameOf, register, type Registration } from '../registry/registry.ts';
import type { InstanceRef } from '../engine/task.ts';
import type { AnyClass, AnyFunction, ClassOptions } from '../types.ts';
import type { SmartFunction } from '../surface/function.ts';
import type { SmartClass } from '../surface/class.ts';
import { CallPolicy, makeSmartFunction, type Binding } from './call.ts';
import { isAsyncBody, isGeneratorBody } from './kind.ts';
import { attachInstance, releaseInBackground, trackInstance } from './instances.ts';
import { carryStatics } from './statics.ts';

/** What smartasync knows of one wrapped class: its registration, options and method policies. */
export class ClassModel {
  readonly reg: Registration;
  readonly options: ClassOptions;
  /** One policy per method for all instances: they share the code and the data it touches. */
  private readonly policies = new Map<string, CallPolicy>();
  private readonly warned = new Set<string>();

  /** Validates `options` and registers `Cls` (`discriminator`: see `register`). */
  constructor(Cls: AnyClass, options: ClassOptions = {}, discriminator = '') {
    if (options.placement !== undefined && options.placement !== 'spread' && options.placement !== 'pinned') {
      throw new TypeError(
        `smartasync: placement for class ${Cls.name} must be 'spread' or 'pinned', got ${JSON.stringify(options.placement)}.`,
      );
    }
    if (options.replica !== undefined && typeof options.replica !== 'function') {
      throw new TypeError(
        `smartasync: replica for class ${Cls.name} must be a function that builds an instance on a worker.`,
      );
    }
    new CallPolicy(options, `class ${Cls.name}`); // validates the offload options now, not at the first call
    this.reg = register('class', Cls, discriminator, options.replica);
    this.options = options;
    models.set(this.reg, this);
  }

  /** Describes a new instance built here from `args` (see `trackInstance`). */
  track(args: unknown[]): InstanceRef {
    return trackInstance(this.reg, args, this.options.placement);
  }

  get name(): string {
    return nameOf(this.reg);
  }

  /** The binding of `method` (as written: `original`) on instance `ref`, run here on `local`. */
  binding(ref: InstanceRef, local: object, method: string, original: AnyFunction): Binding {
    let policy = this.policies.get(method);
    if (!policy) this.policies.set(method, (policy = new CallPolicy(this.options, `class ${this.name}`)));
    return {
      reg: this.reg,
      label: labelOf(this.reg, method),
      isAsync: isAsyncBody(original),
      isGenerator: isGeneratorBody(original),
      original,
      inline: (args) => original.apply(local, args),
      instance: ref,
      method,
      policy,
      onChanged: method === 'close' ? undefined : this.warnOnChange(method),
    };
  }

  /** In development, a warning the first time `method` changes a replica's own fields. */
  private warnOnChange(method: string): ((fields: string[]) => void) | undefined {
    if (process.env.NODE_ENV === 'production') return undefined;
    return (fields) => {
      if (this.warned.has(method)) return;
      this.warned.add(method);
      process.emitWarning(
        `${this.name}#${method}() changed ${fields.map((f) => `this.${f}`).join(', ')} on a worker's replica. ` +
          'Each worker has its own replica, so such changes are not seen by this thread or by other workers. ' +
          "Keep shared state in the database (or other external store), or use { placement: 'pinned' } and read it back through a method. " +
          'This warning is shown in development only (NODE_ENV !== "production").',
        { type: 'SmartAsyncWarning', code: 'SMARTASYNC_REPLICA_CHANGED' },
      );
    };
  }
}

const models = new WeakMap<Registration, ClassModel>();

/** The model of the class registered as `reg`. */
export function modelOf(reg: Registration): ClassModel | undefined {
  return models.get(reg);
}

/** `smartasync(Class)`: the same constructor; every method of an instance becomes a smart function. */
export function wrapClass<C extends AnyClass>(Cls: C, options: ClassOptions<InstanceType<C>> = {}): SmartClass<C> {
  const model = new ClassModel(Cls, options);
  if ('sync' in Cls.prototype) {
    throw new TypeError(
      `smartasync: class ${Cls.name} has a member named "sync", which a wrapped instance uses for the plain instance. Rename it.`,
    );
  }
  const proxies = new WeakSet<object>();
  const Wrapped = function (this: unknown, ...args: unknown[]): object {
    if (!new.target) throw calledWithoutNew(Cls);
    const ref = model.track(args);
    const inner = new (Cls as unknown as new (...a: unknown[]) => Record<string | symbol, unknown>)(...args);
    const proxy = instanceProxy(model, ref, inner);
    proxies.add(proxy);
    return proxy;
  };
  Object.defineProperties(Wrapped, {
    name: { value: Cls.name },
    original: { value: Cls },
    [Symbol.hasInstance]: { value: (x: unknown) => typeof x === 'object' && x !== null && proxies.has(x) },
  });
  Wrapped.prototype = Cls.prototype;
  carryStatics(Wrapped, Cls);
  return Wrapped as unknown as SmartClass<C>;
}

/**
 * Calling a wrapped class without `new`. A function whose prototype has methods is wrapped as
 * a class even when it can be called as a factory too (better-sqlite3's `Database`, dayjs):
 * say so, and how to offload it as a function instead.
 */
function calledWithoutNew(Cls: Function): TypeError {
  const message = `Class constructor ${Cls.name} cannot be invoked without 'new'`;
  if (/^class[\s{]/.test(Function.prototype.toString.call(Cls))) return new TypeError(message);
  return new TypeError(
    `${message}: smartasync wrapped ${Cls.name} as a class, since its prototype has methods. ` +
      `Call it with new, or, to offload it as a function, wrap a function of your own that calls it: ` +
      `smartasync((...args) => ${Cls.name}(...args)).`,
  );
}

/**
 * The wrapped instance: methods become smart functions (made once per method), `sync` is the
 * plain instance, other members read and write through, and `close()` and
 * `Symbol.asyncDispose` release every replica before this thread's instance.
 */
function instanceProxy(model: ClassModel, ref: InstanceRef, inner: Record<string | symbol, unknown>): object {
  const methods = new Map<string, unknown>();
  let dispose: () => Promise<void> = () => Promise.resolve();
  const method = (key: string): unknown => {
    let fn = methods.get(key);
    if (!fn) {
      fn = makeSmartFunction(model.binding(ref, inner, key, inner[key] as AnyFunction));
      if (key === 'close') fn = closing(fn as SmartFunction<AnyFunction>, () => dispose(), ref);
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
  dispose = attachInstance(proxy, ref, inner);
  return proxy;
}

/**
 * A wrapped instance's `close`: awaited, it releases every replica, then closes this thread's
 * instance; `.sync()` closes here and releases the replicas in the background. The other
 * members (`json`, `with`) have no meaning for it and say so.
 */
function closing(
  close: SmartFunction<AnyFunction>,
  dispose: () => Promise<void>,
  ref: InstanceRef,
): SmartFunction<AnyFunction> {
  const fn = () => dispose();
  const refuse = (what: string) => () => {
    throw new TypeError(
      `smartasync: ${what} is not available on close(): await instance.close(), or call instance.close.sync().`,
    );
  };
  Object.defineProperties(fn, {
    name: { value: 'close' },
    sync: { value: (...args: unknown[]) => (releaseInBackground(ref), close.sync(...args)) },
    json: { value: refuse('close.json()') },
    with: { value: refuse('close.with()') },
    original: { value: close.original },
    isAsync: { value: close.isAsync },
  });
  return fn as unknown as SmartFunction<AnyFunction>;
}
