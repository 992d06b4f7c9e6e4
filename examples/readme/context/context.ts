// context.ts — the request's context, carried into workers with every call
import { AsyncLocalStorage } from 'node:async_hooks';
import { carryContext, smartasync } from 'smartasync';

export const request = carryContext(new AsyncLocalStorage<{ id: string; user: string }>());

export const audit = smartasync(function audit(action: string) {
  const { id, user } = request.getStore()!; // on the worker: a copy of the caller's values
  return `${id}: ${user} ${action}`;
});
