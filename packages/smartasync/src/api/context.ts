/**
 * The caller's context travels with its calls: AsyncLocalStorage stores registered here hold,
 * inside an offloaded call on a worker, a copy of the value they held where the call was made
 * (the semantics of Python's `contextvars.copy_context()`: a copy in, nothing written back).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { register, unfindableReason } from '../registry/registry.ts';
import { RegistrationError } from '../errors.ts';
import { checkCloneable, type CloneReport } from '../wire/values.ts';
import type { CarriedValue } from '../engine/task.ts';

const carried: { readonly store: AsyncLocalStorage<unknown>; readonly reg: ReturnType<typeof register> }[] = [];

/** Objects already checked to cross (a request's context is checked once, not per call). */
const checked = new WeakMap<object, CloneReport | undefined>();

/**
 * Makes `store`'s value travel with every offloaded call: the body runs, on its worker (or on
 * the bridge worker for `.sync()`, and for a streamed generator's whole life), inside the same
 * store holding a copy of the value it had where the call was made. Nothing is written back.
 * Call it once, at the top level of the module that creates the store (a worker finds the
 * store by importing that module, as it finds wrapped code). A value that cannot cross threads
 * fails the call, naming the store. Calls made where the store holds nothing carry nothing, and
 * a process with no carried store pays nothing per call.
 *
 * @example
 * ```ts
 * export const requestContext = carryContext(new AsyncLocalStorage<{ reqId: string }>());
 * // in a request: requestContext.run({ reqId }, () => report())   → on the worker,
 * // requestContext.getStore()?.reqId is the request's id
 * ```
 * @returns `store`, for `export const ctx = carryContext(new AsyncLocalStorage<T>())`.
 */
export function carryContext<T>(store: AsyncLocalStorage<T>): AsyncLocalStorage<T> {
  if (!(store instanceof AsyncLocalStorage)) {
    throw new TypeError('smartasync: carryContext() takes an AsyncLocalStorage from node:async_hooks.');
  }
  const reg = register('store', store);
  const unfindable = unfindableReason(reg);
  if (unfindable) throw new RegistrationError(unfindable.replace('cannot offload', 'cannot carry'));
  if (!carried.some((c) => c.store === store)) carried.push({ store: store as AsyncLocalStorage<unknown>, reg });
  return store;
}

/** The carried stores' values for a call of `label` made now; undefined when none holds one. */
export function contextForCall(label: string): CarriedValue[] | undefined {
  if (carried.length === 0) return undefined;
  let values: CarriedValue[] | undefined;
  for (const { store, reg } of carried) {
    const value = store.getStore();
    if (value === undefined) continue;
    (values ??= []).push({ reg, value, report: check(value, reg.label, label) });
  }
  return values;
}

function check(value: unknown, store: string, label: string): CloneReport | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value !== 'object' || value === null)
    return checkCloneable(value, `the value of ${store}, carried with ${label}`, 'value');
  if (checked.has(value)) return checked.get(value);
  const report = checkCloneable(value, `the value of ${store}, carried with ${label}`, 'value');
  checked.set(value, report);
  return report;
}
