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

/** A call was cancelled through its `AbortSignal`. `cause` holds the signal's reason. */
export class CallAbortedError extends SmartAsyncError {
  constructor(what: string, reason: unknown) {
    super('ERR_SMARTASYNC_ABORTED', `${what} was aborted before it settled.`, { cause: reason });
  }
}

/** A call did not settle within its `timeout`. */
export class CallTimeoutError extends SmartAsyncError {
  constructor(what: string, ms: number, running: boolean) {
    super(
      'ERR_SMARTASYNC_TIMEOUT',
      `${what} did not settle within ${ms} ms` +
        (running
          ? '; it was running synchronous code that cannot be interrupted, so its worker was terminated and will be replaced.'
          : '; it was still waiting in the queue and never started.'),
    );
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
