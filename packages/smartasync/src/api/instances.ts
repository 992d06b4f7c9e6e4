/**
 * The instance model: a wrapped instance lives on the calling thread, and each worker that
 * runs one of its methods builds a replica from the same constructor arguments. This module
 * numbers instances and releases their replicas on dispose or garbage collection.
 */
import { checkCloneable } from '../wire/values.ts';
import { disposeObject } from '../wire/dispose.ts';
import { nameOf, type Registration } from '../registry/registry.ts';
import { getPool } from '../engine/pool.ts';
import { releaseOnBridge } from '../engine/sync-bridge.ts';
import { bindInstanceRef, instanceRefOf, type InstanceRef } from '../engine/task.ts';
import type { Placement } from '../types.ts';

let nextInstanceId = 1;
const disposers = new WeakMap<InstanceRef, () => Promise<void>>();

// When the caller drops an instance, its replicas go too.
const finalizer = new FinalizationRegistry<InstanceRef>((ref) => releaseReplicas(ref).catch(() => {}));

async function releaseReplicas(ref: InstanceRef): Promise<void> {
  releaseOnBridge(ref);
  const pool = getPool();
  if (!pool.closed) await pool.release(ref);
}

/**
 * Describes a new instance of the class registered as `reg`, built from `args` (checked to be
 * cloneable now, so a bad argument fails at `new`, naming the class), unless the class has a
 * `replica` factory.
 */
export function trackInstance(reg: Registration, args: unknown[], placement: Placement | undefined): InstanceRef {
  const className = nameOf(reg);
  // With a `replica` factory the worker builds its replica itself: the arguments stay here.
  const ctorArgs = reg.replica ? [] : args;
  const ctorReport = checkCloneable(ctorArgs, `the constructor arguments of class ${className}`, 'args');
  return {
    id: nextInstanceId++,
    reg,
    label: `an instance of class ${className}`,
    ctorArgs,
    ctorReport,
    pinned: placement === 'pinned',
  };
}

/**
 * Ties the replicas of `ref` to the lifetime of `holder` (the object the caller keeps) and
 * returns its dispose function, which also disposes `inner`, the instance on this thread.
 */
export function attachInstance(holder: object, ref: InstanceRef, inner: object): () => Promise<void> {
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      finalizer.unregister(ref);
      await releaseReplicas(ref);
      await disposeObject(inner);
    })());
  finalizer.register(holder, ref, ref);
  bindInstanceRef(holder, ref);
  disposers.set(ref, dispose);
  return dispose;
}

/** Releases worker replicas without waiting (for sync callers). */
export function releaseInBackground(ref: InstanceRef): void {
  releaseReplicas(ref).catch(() => {});
}

/**
 * Releases a wrapped (or `@offloadable`) instance: disposes each worker replica (its
 * `Symbol.asyncDispose`, `Symbol.dispose` or `close()`), then this thread's instance.
 * Same as `await instance[Symbol.asyncDispose]()` or `await using` for `smartasync(Class)`.
 */
export async function release(instance: object): Promise<void> {
  const ref = instanceRefOf(instance);
  const dispose = ref && disposers.get(ref);
  if (!dispose) {
    throw new TypeError('smartasync: release() expects an instance of a smartasync(Class) or @offloadable class.');
  }
  await dispose();
}
