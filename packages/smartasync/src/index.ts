/**
 * smartasync: one typed call surface for sync and async code.
 *
 * - `smartasync(fn)` / `smartasync(Class)`: wrap once at module top level.
 * - `await f(x)`: sync bodies run on a worker thread, the event loop stays free.
 * - `f.sync(x)`: async bodies run on a worker while the caller blocks; sync bodies run inline.
 *
 * @packageDocumentation
 */
export { smartasync, registerError } from './api/smartasync.ts';
export { release } from './api/instances.ts';
export { isWorker } from './api/is-worker.ts';
export { carryContext } from './api/context.ts';
export type { CallContext } from './engine/channels.ts';
import { getPool as defaultPool } from './engine/pool.ts';
import type { Pool } from './types.ts';
export { configure } from './engine/pool.ts';

/**
 * The default pool that wrapped functions and classes use, created on first use. Once
 * closed it refuses calls until `configure()` sets up a new one.
 */
export function getPool(): Pool {
  return defaultPool();
}
export { offload, offloadable } from './api/decorators.ts';
export {
  SmartAsyncError,
  CallAbortedError,
  CallTimeoutError,
  QueueFullError,
  WorkerCrashedError,
  WorkerStartError,
  PoolClosedError,
  RegistrationError,
} from './errors.ts';
export type { CancelledState } from './errors.ts';
export type {
  SmartFunction,
  SmartCallable,
  SmartCallableMembers,
  AsyncResult,
  SyncResult,
  Refused,
} from './surface/function.ts';
export type { SmartClass, SmartInstance, SmartMembers, SmartMethod, SmartClose, Statics } from './surface/class.ts';
export type {
  CallOptions,
  TransferItem,
  ClassOptions,
  FunctionOptions,
  Placement,
  PoolOptions,
  HeadOfLineOptions,
  PoolStats,
  Pool,
  DurationStats,
  FunctionStats,
  Histogram,
  AnyFunction,
  AnyClass,
} from './types.ts';
