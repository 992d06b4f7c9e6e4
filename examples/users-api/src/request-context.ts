// The request a piece of code runs for, in an AsyncLocalStorage that smartasync carries into
// its workers with every offloaded call (carryContext): a log line written on a worker, by the
// data layer, names the request that made the call. Its own module: a worker imports it (through
// the data layer) to find its instance of the store, as it finds the wrapped class.
import { AsyncLocalStorage } from 'node:async_hooks';
import { carryContext } from 'smartasync';

/** What travels with a request's database calls: Fastify's request id. */
export interface RequestContext {
  reqId: string;
}

/** Set per request by buildApp (an onRequest hook); read by the data layer's logger (../db/log.ts). */
export const requestContext = carryContext(new AsyncLocalStorage<RequestContext>());
