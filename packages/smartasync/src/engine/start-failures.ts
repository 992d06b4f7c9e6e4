/**
 * Workers that fail to start (a preload that throws, an option a worker cannot take, limits too
 * small to start) must not be started again at once: each would die the same way, for ever.
 * After a failed start the pool waits, for longer after each one in a row (100 ms, doubling, up
 * to 5 s), refusing calls meanwhile with the worker's own error; a start that succeeds ends it.
 */

const FIRST_WAIT_MS = 100;
const LONGEST_WAIT_MS = 5_000;

export class StartFailures {
  private inARow = 0;
  private last: Error | undefined;
  private retryAt = 0;

  /** A worker failed to start with `cause`. */
  failed(cause: Error): void {
    this.inARow++;
    this.last = cause;
    this.retryAt = performance.now() + Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** (this.inARow - 1));
  }

  /** A worker answered: starting works (again). */
  started(): void {
    this.inARow = 0;
    this.last = undefined;
  }

  /** The error new calls fail with while the pool waits to try again; undefined when it may try. */
  refusing(): Error | undefined {
    return this.last && performance.now() < this.retryAt ? this.last : undefined;
  }

  /** Whether a worker may be started now. */
  mayStart(): boolean {
    return this.refusing() === undefined;
  }

  /** The last start failure, while the pool waits to try again. */
  error(): Error | undefined {
    return this.refusing();
  }
}
