/**
 * A generator's items streamed to the caller, with backpressure: the producer runs ahead of
 * the consumer by at most its credit (items the caller has room for), sends items in chunks,
 * and waits for more credit when it has none. Cancelling ends the generator there, so its
 * `finally` runs and its worker is free.
 */

/**
 * Items per message. Larger chunks would stream faster (1 M small rows through the example
 * app: 2.0 s in chunks of 128, 2.7 s in chunks of 64) but give the reading thread longer
 * stretches of decoding, which the light requests of a server reading a stream then wait
 * behind (their p99 2.4x alone in chunks of 128, 1.7x in chunks of 64).
 */
const CHUNK_ITEMS = 64;
/** A chunk also goes out once its first item has waited this long: a slow generator's items are not held for the rest of it. */
const CHUNK_MS = 2;

type Step = IteratorResult<unknown, unknown>;
type AnyIterator = Iterator<unknown, unknown, undefined> | AsyncIterator<unknown, unknown, undefined>;

/** Whether `value` is an iterator (a generator object, sync or async). */
export function isIterator(value: unknown): value is AnyIterator {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';
}

/** How a producer reports: a chunk (`more`), its last items with the return value, or a failure. */
export interface ProducerOutput {
  chunk(items: unknown[]): void;
  end(items: unknown[], returned: unknown): void;
  fail(err: unknown): void;
  /** Marks the span in which the producer runs the generator's synchronous code. */
  running(on: boolean): void;
}

export class Producer {
  private credit: number;
  private busy = false;
  private finished = false;
  private cancelled = false;
  private chunkStarted = 0;
  private readonly it: AnyIterator;
  private readonly out: ProducerOutput;

  constructor(it: AnyIterator, credit: number, out: ProducerOutput) {
    this.it = it;
    this.credit = credit;
    this.out = out;
  }

  get done(): boolean {
    return this.finished;
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
    this.cancelled = true;
    if (!this.busy) this.stop([]); // else the step in progress stops it
  }

  private pump(): void {
    if (this.busy || this.finished) return;
    this.busy = true;
    this.fill([]);
  }

  // A synchronous generator fills a chunk in one go; an async one comes back here per item.
  private fill(items: unknown[]): void {
    this.out.running(true);
    try {
      while (this.credit > 0 && !this.cancelled) {
        const step = this.it.next() as Step | Promise<Step>;
        if (step instanceof Promise) {
          this.out.running(false);
          step.then(
            (result) => this.accept(items, result) && this.fill(items),
            (err: unknown) => this.failed(items, err),
          );
          return;
        }
        if (!this.accept(items, step)) return;
      }
    } catch (err) {
      this.failed(items, err);
      return;
    } finally {
      this.out.running(false);
    }
    if (this.cancelled) return this.stop(items);
    if (items.length > 0) this.out.chunk(items.splice(0));
    this.busy = false; // out of credit: wait for a pull
  }

  /** Takes one step's result; whether to go on. */
  private accept(items: unknown[], step: Step): boolean {
    if (this.finished) return false;
    if (step.done) {
      this.finished = true;
      this.out.end(items, step.value);
      return false;
    }
    items.push(step.value);
    this.credit--;
    const now = performance.now();
    if (items.length === 1) this.chunkStarted = now;
    if (items.length >= CHUNK_ITEMS || now - this.chunkStarted >= CHUNK_MS) this.out.chunk(items.splice(0));
    if (this.cancelled) {
      this.stop(items);
      return false;
    }
    return true;
  }

  /** Ends the generator early; what it yielded already still reaches the caller. */
  private stop(items: unknown[]): void {
    if (this.finished) return;
    this.finished = true;
    let ended: unknown;
    try {
      ended = this.it.return?.(undefined);
    } catch (err) {
      this.out.fail(err); // its `finally` threw
      return;
    }
    const report = () => this.out.end(items, undefined);
    if (ended instanceof Promise) ended.then(report, (err: unknown) => this.out.fail(err));
    else report();
  }

  /** The generator threw: the items it yielded before still reach the caller, then the error. */
  private failed(items: unknown[], err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (items.length > 0) this.out.chunk(items.splice(0));
    this.out.fail(err);
  }
}
