/**
 * A generator's items streamed to the caller, with backpressure: the producer runs ahead of
 * the consumer by at most its credit (items the caller has room for), sends items in chunks,
 * and waits for more credit when it has none (then it needs no thread: the worker runs other
 * calls). Stopping ends the generator there, so its `finally` runs.
 *
 * When a chunk goes out: at CHUNK_ITEMS items or CHUNK_UNITS of text and binary data; at once
 * for the stream's first item; when its first item has waited CHUNK_MS; and at once while the
 * generator is slow (its latest step took SLOW_STEP_MS or more), since a synchronous step holds
 * the thread and nothing can be sent until it ends. Only the first slow step after fast ones
 * can hold items back (for that step).
 */

/**
 * Items per message. Larger chunks would stream faster (1 M small rows through the example
 * app: 2.0 s in chunks of 128, 2.7 s in chunks of 64) but give the reading thread longer
 * stretches of decoding, which the light requests of a server reading a stream then wait
 * behind (their p99 2.4x alone in chunks of 128, 1.7x in chunks of 64).
 */
const CHUNK_ITEMS = 64;
/**
 * A chunk also goes out once its items add up to this many string units or bytes: a reader
 * decodes a message in one go, and its event loop waits meanwhile; and the stream's memory
 * ahead of its reader is a window of items. With chunks of 64 items of 256 exported rows each
 * (800 KB), a server exporting 1 M rows grew by 58 MB; with this bound, by 28 MB
 * (bench/export.ts).
 */
const CHUNK_UNITS = 64 * 1024;
/** A chunk also goes out once its first item has waited this long. */
export const CHUNK_MS = 2;
/** A step at least this long makes the generator slow: its items go out one by one. */
const SLOW_STEP_MS = 1;

type Step = IteratorResult<unknown, unknown>;
type AnyIterator = Iterator<unknown, unknown, undefined> | AsyncIterator<unknown, unknown, undefined>;

/** Whether `value` is an iterator (a generator object, sync or async). */
export function isIterator(value: unknown): value is AnyIterator {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';
}

/** How a producer reports: a chunk (more to come), its last items with the return value, or a failure. */
export interface ProducerOutput {
  chunk(items: unknown[]): void;
  end(items: unknown[], returned: unknown): void;
  fail(err: unknown): void;
  /** Checks one item before it is kept (throws for an item that cannot cross); returns its size (string units and bytes). */
  check(item: unknown, index: number): number;
  /** Marks the span in which the producer runs the generator's synchronous code. */
  running(on: boolean): void;
  /** Whether the reader asked to stop (read between items, from shared memory). */
  stopAsked(): boolean;
  /** Runs one step of the generator (inside the caller's carried context). */
  step<T>(next: () => T): T;
}

export class Producer {
  private credit: number;
  private busy = false;
  private finished = false;
  private stopping = false;
  private produced = 0;
  private chunkStarted = 0;
  private chunkUnits = 0;
  private slow = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly items: unknown[] = [];
  private readonly it: AnyIterator;
  private readonly out: ProducerOutput;

  constructor(it: AnyIterator, credit: number, out: ProducerOutput) {
    this.it = it;
    this.credit = credit;
    this.out = out;
  }

  start(): void {
    this.pump();
  }

  /** The caller has room for `credit` more items. */
  pull(credit: number): void {
    this.credit += credit;
    this.pump();
  }

  /** The caller stopped reading: end the generator (its `finally` runs) and report the end. */
  cancel(): void {
    if (this.finished) return;
    this.stopping = true;
    if (!this.busy) this.stop(); // else the step in progress stops it
  }

  private pump(): void {
    if (this.busy || this.finished) return;
    this.busy = true;
    this.fill();
  }

  // A synchronous generator fills a chunk in one go; an async one comes back here per item.
  private fill(): void {
    this.out.running(true);
    try {
      while (this.credit > 0 && !this.stopping && !this.out.stopAsked()) {
        const began = performance.now();
        const step = this.out.step(() => this.it.next()) as Step | Promise<Step>;
        if (step instanceof Promise) {
          this.out.running(false);
          this.flushLater();
          step.then(
            (result) => this.accept(result, began) && this.fill(),
            (err: unknown) => this.fail(err),
          );
          return;
        }
        if (!this.accept(step, began)) return;
      }
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      this.out.running(false);
    }
    if (this.stopping || this.out.stopAsked()) return this.stop();
    this.flush();
    if (this.finished) return; // the chunk could not be sent: the stream failed
    this.busy = false; // out of credit: wait for a pull
  }

  /** Takes one step's result (begun at `began`); whether to go on. */
  private accept(step: Step, began: number): boolean {
    if (this.finished) return false;
    if (step.done) {
      this.finished = true;
      this.clearTimer();
      this.out.end(this.items.splice(0), step.value);
      return false;
    }
    const now = performance.now();
    this.slow = now - began >= SLOW_STEP_MS;
    try {
      this.chunkUnits += this.out.check(step.value, this.produced);
    } catch (err) {
      this.fail(err); // the items before it still go out first; the generator ends
      return false;
    }
    this.items.push(step.value);
    this.produced++;
    this.credit--;
    if (this.items.length === 1) this.chunkStarted = now;
    if (
      this.produced === 1 ||
      this.slow ||
      this.items.length >= CHUNK_ITEMS ||
      this.chunkUnits >= CHUNK_UNITS ||
      now - this.chunkStarted >= CHUNK_MS
    ) {
      this.flush();
    }
    if (this.finished) return false; // the chunk could not be sent: the stream failed
    if (this.stopping || this.out.stopAsked()) {
      this.stop();
      return false;
    }
    return true;
  }

  private flush(): void {
    this.clearTimer();
    this.chunkUnits = 0;
    if (this.items.length > 0) this.out.chunk(this.items.splice(0));
  }

  /** An async step is pending: items already yielded go out when their CHUNK_MS is up. */
  private flushLater(): void {
    if (this.items.length === 0 || this.flushTimer) return;
    const wait = Math.max(0, this.chunkStarted + CHUNK_MS - performance.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.finished) this.flush();
    }, wait);
  }

  private clearTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Ends the generator early; what it yielded already still reaches the caller. */
  private stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    let ended: unknown;
    try {
      ended = this.it.return?.(undefined);
    } catch (err) {
      this.flush();
      this.out.fail(err); // its `finally` threw
      return;
    }
    const report = () => this.out.end(this.items.splice(0), undefined);
    if (ended instanceof Promise) ended.then(report, (err: unknown) => (this.flush(), this.out.fail(err)));
    else report();
  }

  /**
   * The generator threw, yielded an item that cannot cross, or a chunk of its items could not be
   * sent: the items it yielded before still reach the caller, then the error; a generator still
   * suspended is ended first, so its `finally` has run when the caller sees the error.
   */
  fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.flush();
    try {
      const ended = this.it.return?.(undefined);
      if (ended instanceof Promise) {
        ended.then(
          () => this.out.fail(err),
          () => this.out.fail(err),
        );
        return;
      }
    } catch {
      // its `finally` threw too: the first error is the one to report
    }
    this.out.fail(err);
  }
}
