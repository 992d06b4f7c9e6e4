/**
 * The caller's side of a generator that runs elsewhere: its items arrive in chunks and wait
 * here until read; as they are read, the worker is granted room for more, so it never runs
 * more than `window` items ahead. `ItemStream` is read with `for await` (a pool worker's
 * generator); the sync bridge reads the same buffer blocking (sync-bridge.ts).
 */
import { WorkerCrashedError } from '../errors.ts';

/** How many items a worker may produce ahead of the reader. */
export const STREAM_WINDOW = 256;

/** What the reading side tells the worker: room for `credit` more items, or stop. */
export type StreamSignal = (op: 'pull' | 'cancel', credit?: number) => void;

/** Items received and not yet read, the stream's end, and the credit granted back. */
export class StreamBuffer {
  protected readonly items: unknown[] = [];
  private head = 0;
  /** Set once the last reply came: the generator's return value, or its error. */
  protected end: { ok: true; returned: unknown } | { ok: false; error: unknown } | undefined;
  private readSinceGrant = 0;
  protected readonly signal: StreamSignal;

  constructor(signal: StreamSignal) {
    this.signal = signal;
  }

  /** A chunk from the worker. */
  push(items: readonly unknown[]): void {
    for (const item of items) this.items.push(item);
    this.changed();
  }

  /** The last reply: the last items and the return value. */
  finish(items: readonly unknown[], returned: unknown): void {
    for (const item of items) this.items.push(item);
    this.end ??= { ok: true, returned };
    this.changed();
  }

  /** The generator threw, or its worker died, or the call was aborted. */
  fail(error: unknown): void {
    this.end ??= { ok: false, error };
    this.changed();
  }

  /** Called when items or the end arrive. */
  protected changed(): void {}

  /** The next buffered result, or undefined when the reader must wait. Throws the stream's error. */
  protected take(): IteratorResult<unknown, unknown> | undefined {
    if (this.head < this.items.length) {
      const value = this.items[this.head]!;
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head); // let what was read go
        this.head = 0;
      }
      this.grant();
      return { done: false, value };
    }
    if (!this.end) return undefined;
    if (!this.end.ok) throw this.end.error;
    return { done: true, value: this.end.returned };
  }

  // Credit goes back in batches (half the window), not one message per item read.
  private grant(): void {
    if (++this.readSinceGrant < STREAM_WINDOW / 2 || this.end) return;
    this.signal('pull', this.readSinceGrant);
    this.readSinceGrant = 0;
  }

  get ended(): boolean {
    return this.end !== undefined;
  }

  private crashReported = false;

  /**
   * For a reader that stops early: the WorkerCrashedError the stream ended with, if its worker
   * died before the generator ended there (its `finally` never ran, and the reader must hear
   * so); given once, to the first stop.
   */
  protected crashed(): unknown {
    const end = this.end;
    if (this.crashReported || !end || end.ok || !(end.error instanceof WorkerCrashedError)) return undefined;
    this.crashReported = true;
    return end.error;
  }
}

/** A generator's items, read with `for await`: an async generator whose body runs on a worker. */
export class ItemStream<T, R> extends StreamBuffer implements AsyncGenerator<T, R, undefined> {
  private waiting: { resolve: (r: IteratorResult<T, R>) => void; reject: (err: unknown) => void } | undefined;
  private closed = false;

  next(): Promise<IteratorResult<T, R>> {
    if (this.closed) return Promise.resolve({ done: true, value: undefined as R });
    try {
      const ready = this.take() as IteratorResult<T, R> | undefined;
      if (ready) return Promise.resolve(ready);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /**
   * `break`, `return` or a throw in a `for await` loop: the generator ends on its worker (its
   * `finally` runs there) before this resolves. If its worker died first, the `finally` never
   * ran: this rejects with the stream's WorkerCrashedError (once).
   */
  async return(value?: R | PromiseLike<R>): Promise<IteratorResult<T, R>> {
    if (!this.closed && !this.ended) {
      this.closed = true;
      const ended = new Promise<void>((resolve) => (this.onEnd = resolve));
      this.signal('cancel');
      await ended;
    }
    this.closed = true;
    const crashed = this.crashed();
    if (crashed) throw crashed;
    return { done: true, value: (await value) as R };
  }

  async throw(err: unknown): Promise<IteratorResult<T, R>> {
    await this.return().catch(() => {}); // the error thrown in the loop is the one to report
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private onEnd: (() => void) | undefined;

  protected override changed(): void {
    if (this.ended) this.onEnd?.();
    const waiting = this.waiting;
    if (!waiting) return;
    let ready: IteratorResult<T, R> | undefined;
    try {
      ready = this.take() as IteratorResult<T, R> | undefined;
    } catch (err) {
      this.waiting = undefined;
      waiting.reject(err);
      return;
    }
    if (!ready) return;
    this.waiting = undefined;
    waiting.resolve(ready);
  }
}
