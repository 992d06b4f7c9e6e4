/**
 * smartasync: one typed call surface for sync and async code.
 *
 * - `smartasync(fn)` / `smartasync(Class)`: wrap once at module top level.
 * - `await f(x)`: sync bodies run on a worker thread, the event loop stays free.
 * - `f.sync(x)`: async bodies run on a worker while the caller blocks; sync bodies run inline.
 *
 * @packageDocumentation
 */
export { smartasync, registerError } from './smartasync.ts';
export { release } from './instances.ts';
export { configure, getPool, Pool } from './pool.ts';
export { offload, offloadable } from './decorators.ts';
export {
  SmartAsyncError,
  CallAbortedError,
  CallTimeoutError,
  QueueFullError,
  WorkerCrashedError,
  PoolClosedError,
  RegistrationError,
} from './errors.ts';
export type {
  SmartFunction,
  SmartClass,
  SmartInstance,
  SmartMembers,
  CallOptions,
  ClassOptions,
  Placement,
  PoolOptions,
  PoolStats,
  DurationStats,
  AnyFunction,
  AnyClass,
} from './types.ts';
