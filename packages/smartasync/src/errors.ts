/**
 * The errors smartasync raises itself. Every layer may raise them; they import nothing.
 */

/** Base class of every error smartasync raises itself; `code` is stable and machine-readable. */
export class SmartAsyncError extends Error {
  /** A stable identifier such as `ERR_SMARTASYNC_TIMEOUT`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * What a cancelled call had done when it was cancelled: `'waiting'` (it never started and never
 * will), `'killed'` (it was running synchronous code, so its worker was terminated), or
 * `'started'` (it had started, as an async body or a stream does between steps: it may have had
 * effects; a stream's generator ends at its next item, an async body's result is dropped).
 */
export type CancelledState = 'waiting' | 'killed' | 'started';

const AFTER_CANCEL: Record<CancelledState, string> = {
  waiting: 'it was still waiting for a worker and will never run.',
  killed: 'it was running and cannot be interrupted, so its worker thread was terminated (a new one replaces it).',
  started: 'it had started, so it may have had effects; what it returns now is dropped.',
};

/** A call was cancelled through its `AbortSignal`. `cause` holds the signal's reason. */
export class CallAbortedError extends SmartAsyncError {
  /** Whether the call had started when it was aborted: if false, it never ran and never will. */
  readonly started: boolean;
  constructor(what: string, reason: unknown, state: CancelledState = 'waiting') {
    super('ERR_SMARTASYNC_ABORTED', `${what} was aborted before it settled; ${AFTER_CANCEL[state]}`, {
      cause: reason,
    });
    this.started = state !== 'waiting';
  }
}

/** A call did not settle within its `timeout`. */
export class CallTimeoutError extends SmartAsyncError {
  /** Whether the call had started when its time ran out: if false, it never ran and never will. */
  readonly started: boolean;
  constructor(what: string, ms: number, state: CancelledState) {
    super('ERR_SMARTASYNC_TIMEOUT', `${what} did not settle within ${ms} ms; ${AFTER_CANCEL[state]}`);
    this.started = state !== 'waiting';
  }
}

/** The pool's bounded queue is full: the caller should shed load or raise `maxQueue`. */
export class QueueFullError extends SmartAsyncError {
  constructor(what: string, maxQueue: number) {
    super(
      'ERR_SMARTASYNC_QUEUE_FULL',
      `${what} was refused: the smartasync pool queue already holds ${maxQueue} calls. ` +
        'Shed load (answer 503), or raise maxQueue / size with configure().',
    );
  }
}

/**
 * The worker running a call died (uncaught error, `process.exit`, out of memory, or it was
 * terminated to stop a call that ran past its timeout) after the call had started and before
 * it finished. Calls that had not started are not failed but run on another worker, and
 * replies the worker had already written are delivered, so this error means exactly: the call
 * may have run, in part or whole (`started` is always true). Retry only what is safe to repeat.
 */
export class WorkerCrashedError extends SmartAsyncError {
  /** The call had started on the worker: it may have had effects (a write) before the end. */
  readonly started = true;
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super(
      'ERR_SMARTASYNC_WORKER_CRASHED',
      `${what} started but did not finish: its worker thread ${detail}. It may have had effects before that, so it was not run again. ` +
        'The worker has been replaced; other calls go on.',
      options,
    );
  }
}

/**
 * No worker thread could start: the start-up of a worker failed before it could take calls (a
 * `--import` preload or loader that throws, an option a worker cannot take, memory limits too
 * small to start). `cause` holds the worker's own error. Calls fail with it at once while the
 * pool waits before trying again (a back-off that grows with each failed start, up to 5 s);
 * the first call after that tries to start a worker again.
 */
export class WorkerStartError extends SmartAsyncError {
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super(
      'ERR_SMARTASYNC_WORKER_START',
      `${what} could not run: a smartasync worker thread failed to start: ${detail}. ` +
        "Check what every worker loads before your code: the execArgv given to configure() (or the process's own, " +
        'which workers inherit: --import, --require, --loader) and resourceLimits. Calls fail at once for a moment, then the pool tries again.',
      options,
    );
  }
}

/** A call was made after `close()`. */
export class PoolClosedError extends SmartAsyncError {
  constructor(what: string) {
    super('ERR_SMARTASYNC_CLOSED', `${what} was refused: the smartasync pool is closed.`);
  }
}

/** Code could not be found or loaded again inside a worker. */
export class RegistrationError extends SmartAsyncError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SMARTASYNC_REGISTRATION', message, options);
  }
}
