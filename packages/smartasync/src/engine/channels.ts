/**
 * What the pool publishes on `node:diagnostics_channel`, so that an APM or a logger can hook in
 * without a dependency of ours (the convention undici, Fastify, pg and mysql2 follow). Nothing
 * is built or published while a channel has no subscriber.
 *
 * - `smartasync:call` (a tracing channel: start, end, asyncStart, asyncEnd, error), once per
 *   offloaded call; its context is a {@link CallContext}.
 * - `smartasync:worker:start`, `smartasync:worker:exit`: a worker started; a worker ended
 *   (`reason`: 'crashed', 'failed to start', 'stopped', 'terminated'), with the error if any.
 * - `smartasync:call:held`: a call of a long function waits while short calls have the cores
 *   (head-of-line protection's hold).
 */
import dc from 'node:diagnostics_channel';

/** The context object of `smartasync:call` events. */
export interface CallContext {
  /** The function or method, as messages name it: `hash()`, `UserRepo#find()`. */
  readonly name: string;
  /** The worker it ran on (its thread name), once known. */
  worker?: string;
  /** ms from the call to its start on a worker, and running there (once it settled). */
  waitMs?: number;
  runMs?: number;
  /** What it settled with. */
  result?: unknown;
  error?: unknown;
}

export const callChannel = dc.tracingChannel<unknown, CallContext>('smartasync:call');
export const workerStartChannel = dc.channel('smartasync:worker:start');
export const workerExitChannel = dc.channel('smartasync:worker:exit');
export const heldChannel = dc.channel('smartasync:call:held');
