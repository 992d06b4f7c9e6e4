/**
 * A line of calls waiting for a worker: first in, first out, with calls taken back from a
 * worker put in again at the front (they were sent first, so they stay first).
 */
export class CallQueue<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts `items` back at the front, in their order. */
  pushFront(items: readonly T[]): void {
    if (items.length > 0) this.items.splice(this.head, 0, ...items);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as never; // let it be collected
    // Compact now and then, so the array does not grow for ever under a steady flow.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes `item` out of the line; false when it was not waiting. */
  remove(item: T): boolean {
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }

  /** Takes out the waiting items `which` picks, in their order. */
  extract(which: (item: T) => boolean): T[] {
    const taken: T[] = [];
    const kept = this.items.slice(0, this.head);
    for (let i = this.head; i < this.items.length; i++) (which(this.items[i]!) ? taken : kept).push(this.items[i]!);
    if (taken.length > 0) this.items = kept;
    return taken;
  }

  /** Puts `item` in ahead of the first waiting item that `after` says came later. */
  insert(item: T, after: (waiting: T) => boolean): void {
    let at = this.head;
    while (at < this.items.length && !after(this.items[at]!)) at++;
    this.items.splice(at, 0, item);
  }

  /** Every waiting item, in order (left in the line). */
  waiting(): T[] {
    return this.items.slice(this.head);
  }

  /** Every waiting item, taken out of the line, in order. */
  takeAll(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}

/**
 * The pool's two lines of waiting calls: short calls, and calls that hold a worker alone (long
 * and doubtful ones, see head-of-line.ts). A freed worker takes from both in arrival order.
 */
export class Lines<T extends { readonly cls: string }> {
  readonly short = new CallQueue<T>();
  readonly long = new CallQueue<T>();

  get size(): number {
    return this.short.size + this.long.size;
  }

  push(call: T): void {
    (call.cls === 'short' ? this.short : this.long).push(call);
  }

  /** Puts calls taken back from a worker at the front of their lines, in their order. */
  pushFront(calls: readonly T[]): void {
    this.short.pushFront(calls.filter((c) => c.cls === 'short'));
    this.long.pushFront(calls.filter((c) => c.cls !== 'short'));
  }

  /** Takes `call` out of its line; false when it was not waiting. */
  remove(call: T): boolean {
    return this.short.remove(call) || this.long.remove(call);
  }

  /** Every waiting call, taken out of the lines. */
  takeAll(): T[] {
    return [...this.short.takeAll(), ...this.long.takeAll()];
  }
}
