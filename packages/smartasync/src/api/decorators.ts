/**
 * The decorator form, for code that prefers the Python style. TypeScript decorators cannot
 * change a member's type, so this form stays type-honest: `@offload` applies only to methods
 * declared `async` (they already return a Promise) whose bodies are synchronous, and moves
 * those bodies to a worker. `@offloadable` on the class records the constructor arguments so
 * each worker can build its replica. Works with TC39 standard decorators and with
 * `experimentalDecorators` (NestJS).
 */
import { inSmartasyncWorker } from '../wire/protocol.ts';
import { instanceRefOf } from '../engine/task.ts';
import { RegistrationError } from '../errors.ts';
import type { AnyClass, AnyFunction, ClassOptions } from '../types.ts';
import { callAsync } from './call.ts';
import { isAsyncBody } from './kind.ts';
import { ClassModel, modelOf } from './class.ts';
import { attachInstance } from './instances.ts';

function decorateClass<C extends AnyClass>(Cls: C, options: ClassOptions): C {
  const Base = Cls as unknown as new (...args: unknown[]) => object;
  const Offloadable = class extends Base {
    constructor(...args: unknown[]) {
      // On a worker this is a replica (built by the worker, or by a `replica` factory): not tracked.
      const ref = inSmartasyncWorker ? undefined : model.track(args);
      super(...args);
      if (ref) attachInstance(this, ref, this);
    }
  };
  Object.defineProperty(Offloadable, 'name', { value: Cls.name });
  // Compiler helpers call every class decorator of a module from one line: the name keeps keys apart.
  const model = new ClassModel(Offloadable, options, `:${Cls.name}`);
  return Offloadable as unknown as C;
}

type AsyncMethod<This, A extends unknown[], R> = (this: This, ...args: A) => Promise<R>;

function decorateMethod<This, A extends unknown[], R>(
  method: AsyncMethod<This, A, R>,
  name: string,
): AsyncMethod<This, A, R> {
  if (!isAsyncBody(method)) {
    throw new TypeError(
      `smartasync: @offload applies to methods declared async (their callers already await them); ${name}() is not. ` +
        'Declare it `async` (its body may stay synchronous), or wrap the class with smartasync(Class) instead.',
    );
  }
  // The body is synchronous however the method is declared: it is what runs on a worker.
  const body = function (this: This, ...args: A) {
    return method.apply(this, args);
  };
  const offloaded = function (this: This, ...args: A): Promise<R> {
    if (inSmartasyncWorker) return method.apply(this, args);
    const ref = instanceRefOf(this);
    const model = ref && modelOf(ref.reg);
    if (!ref || !model) {
      return Promise.reject(
        new RegistrationError(
          `smartasync: @offload on ${name}() needs @offloadable on its class, so that workers can build a replica of the instance.`,
        ),
      );
    }
    return callAsync(model.binding(ref, this as object, name, body as AnyFunction), args, undefined) as Promise<R>;
  };
  Object.defineProperty(offloaded, 'name', { value: name });
  return offloaded;
}

function isContext(x: unknown): x is { kind: string; name: string | symbol } {
  return typeof x === 'object' && x !== null && 'kind' in x;
}

/**
 * Class decorator: lets the `@offload` methods of this class run on worker replicas built
 * from the same constructor arguments. `@offloadable` or `@offloadable({ placement: 'pinned' })`.
 */
export function offloadable<C extends AnyClass>(target: C, context?: ClassDecoratorContext<C>): C;
export function offloadable(
  options: ClassOptions,
): <C extends AnyClass>(target: C, context?: ClassDecoratorContext<C>) => C;
export function offloadable(arg: unknown, context?: unknown): unknown {
  if (typeof arg === 'function') {
    if (context !== undefined && (!isContext(context) || context.kind !== 'class')) {
      throw new TypeError('smartasync: @offloadable decorates classes; use @offload on methods.');
    }
    return decorateClass(arg as AnyClass, {});
  }
  const options = (arg ?? {}) as ClassOptions;
  return (target: AnyClass) => decorateClass(target, options);
}

/**
 * Method decorator: the method, declared `async` with a synchronous body, runs on a worker
 * thread when called here (inline when already on a smartasync worker). Needs
 * `@offloadable` on the class.
 */
export function offload<This, A extends unknown[], R>(
  target: AsyncMethod<This, A, R>,
  context: ClassMethodDecoratorContext<This, AsyncMethod<This, A, R>>,
): AsyncMethod<This, A, R>;
export function offload<R>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<(...args: never[]) => Promise<R>>,
): TypedPropertyDescriptor<(...args: never[]) => Promise<R>>;
export function offload(target: unknown, keyOrContext: unknown, descriptor?: PropertyDescriptor): unknown {
  if (isContext(keyOrContext)) {
    if (keyOrContext.kind !== 'method')
      throw new TypeError('smartasync: @offload decorates methods; use @offloadable on classes.');
    return decorateMethod(target as AsyncMethod<unknown, unknown[], unknown>, String(keyOrContext.name));
  }
  const desc = descriptor!;
  desc.value = decorateMethod(desc.value as AsyncMethod<unknown, unknown[], unknown>, String(keyOrContext));
  return desc;
}
