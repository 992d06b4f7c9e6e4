/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer, with a wake-up word.
 * Records are `[int32 length][bytes]`, padded to 4 bytes. One byte-range is always left free
 * so that "read === write" means empty.
 *
 * Why: a MessagePort message costs a structured-clone, a queue, an event dispatch and a
 * loop wake-up on each side. Writing serialized bytes into shared memory and waking the
 * reader through Atomics is the cheapest way across threads Node offers.
 */

const WRITE = 0; // byte offset where the next record goes
const READ = 1; // byte offset of the next record to read
const SEQ = 2; // bumped after every write: the word readers wait on
const WAITING = 3; // 1 while the reader sleeps (writers notify only then)
const HEADER_WORDS = 4;
const HEADER_BYTES = HEADER_WORDS * 4;

/** Length value of the record that sends the reader back to offset 0. */
const WRAP = -1;

export class Ring {
  readonly sab: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  /** The same bytes as a Buffer, for its UTF-8 codec. */
  private readonly buffer: Buffer & {
    utf8Write(text: string, offset: number): number;
    utf8Slice(start: number, end: number): string;
  };
  /** Bytes for records (the header excluded). */
  readonly capacity: number;

  constructor(sabOrCapacity: SharedArrayBuffer | number) {
    this.sab =
      typeof sabOrCapacity === 'number' ? new SharedArrayBuffer(HEADER_BYTES + align(sabOrCapacity)) : sabOrCapacity;
    this.header = new Int32Array(this.sab, 0, HEADER_WORDS);
    this.capacity = this.sab.byteLength - HEADER_BYTES;
    this.words = new Int32Array(this.sab, HEADER_BYTES, this.capacity / 4);
    this.bytes = new Uint8Array(this.sab, HEADER_BYTES, this.capacity);
    this.buffer = Buffer.from(this.sab, HEADER_BYTES, this.capacity) as Ring['buffer'];
  }

  /**
   * Appends one record; false when there is no room (the caller falls back to a port).
   * The reader is not woken: call `notify()` once after a burst of writes.
   */
  write(data: Uint8Array): boolean {
    const at = this.reserve(data.byteLength);
    if (at < 0) return false;
    this.bytes.set(data, at + 4);
    this.commit(at, data.byteLength);
    return true;
  }

  /**
   * Appends `text` as one UTF-8 record, encoded straight into the ring (no intermediate
   * Buffer); false when there is no room.
   */
  writeString(text: string): boolean {
    // Three bytes per UTF-16 unit is the most UTF-8 needs; try that bound before measuring.
    let at = this.reserve(text.length * 3);
    if (at < 0) {
      at = this.reserve(Buffer.byteLength(text));
      if (at < 0) return false;
    }
    this.commit(at, this.buffer.utf8Write(text, at + 4));
    return true;
  }

  /** Where a record of `length` bytes can go, or -1 when it does not fit now. */
  private reserve(length: number): number {
    const need = 4 + align(length);
    const w = Atomics.load(this.header, WRITE);
    const r = Atomics.load(this.header, READ);
    if (w >= r) {
      if (this.capacity - w > need || (this.capacity - w === need && r > 0)) return w;
      if (need < r) return 0; // the tail is too short: continue at the start
      return -1;
    }
    return w + need < r ? w : -1;
  }

  /** Publishes the record of `length` bytes written at `at` (from `reserve`). */
  private commit(at: number, length: number): void {
    const w = this.header[WRITE]!; // only this thread writes it
    if (at !== w) this.words[w >> 2] = WRAP;
    this.words[at >> 2] = length;
    const next = at + 4 + align(length);
    Atomics.store(this.header, WRITE, next === this.capacity ? 0 : next);
    Atomics.add(this.header, SEQ, 1);
  }

  /** Wakes the reader if it sleeps (a system call, so once per burst, not per record). */
  notify(): void {
    if (Atomics.load(this.header, WAITING) === 1) Atomics.notify(this.header, SEQ);
  }

  /**
   * Hands the next record to `use` as a range of `bytes` (valid only during the call) and
   * frees it. Returns false when the ring is empty.
   */
  read(use: (bytes: Uint8Array, start: number, end: number) => void): boolean {
    let r = Atomics.load(this.header, READ);
    const w = Atomics.load(this.header, WRITE);
    if (r === w) return false;
    let length = this.words[r >> 2]!;
    if (length === WRAP) {
      r = 0;
      length = this.words[0]!;
    }
    try {
      use(this.bytes, r + 4, r + 4 + length);
    } finally {
      const next = r + 4 + align(length);
      Atomics.store(this.header, READ, next === this.capacity ? 0 : next);
    }
    return true;
  }

  /** The UTF-8 text at `start..end` of the bytes `read` handed over. */
  text(start: number, end: number): string {
    return this.buffer.utf8Slice(start, end);
  }

  /** The wake-up sequence now; pass it to a wait so a write in between is never missed. */
  seq(): number {
    return Atomics.load(this.header, SEQ);
  }

  /**
   * Sleeps without blocking the event loop until a write after `seq`: the promise of
   * Atomics.waitAsync itself (no extra `.then` hop), or undefined when a write already came.
   * The reader calls `awake()` when it resumes.
   */
  waitAsync(seq: number): Promise<unknown> | undefined {
    Atomics.store(this.header, WAITING, 1);
    const result = Atomics.waitAsync(this.header, SEQ, seq);
    if (result.async) return result.value;
    Atomics.store(this.header, WAITING, 0);
    return undefined;
  }

  /** The reader is running again: writers need not notify until it next waits. */
  awake(): void {
    Atomics.store(this.header, WAITING, 0);
  }

  /**
   * Blocks this thread until a write after `seq`, or `timeout` ms; false on timeout.
   * Keep `timeout` well above the kernel tick (several ms): a futex timeout shorter than the
   * next tick reprograms the timer hardware, which in a VM costs a VM exit on arming and again
   * on cancelling (measured here: +7.5 µs per wake with 1 ms, +1 µs with 4 ms or more).
   */
  waitSync(seq: number, timeout: number): boolean {
    Atomics.store(this.header, WAITING, 1);
    const outcome = Atomics.wait(this.header, SEQ, seq, timeout);
    Atomics.store(this.header, WAITING, 0);
    return outcome !== 'timed-out';
  }

  /** Wakes a sleeping reader without writing (used to stop it). */
  wake(): void {
    Atomics.add(this.header, SEQ, 1);
    Atomics.notify(this.header, SEQ);
  }
}

function align(n: number): number {
  return (n + 3) & ~3;
}
