/**
 * The transport: an ordered, two-way message channel between two threads. Messages are
 * serialized (v8's structured-clone format) into shared-memory rings and the reader is woken
 * through Atomics, which costs a fraction of a MessagePort message. What the ring cannot carry
 * (transfer lists, SharedArrayBuffers, host objects) goes through a MessagePort, with an
 * empty marker record in the ring so that order is kept. The transport moves opaque messages;
 * it knows nothing of calls, workers or classes.
 */
import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Ring } from './ring.ts';
import type { TransferItem } from '../types.ts';

/** Ring size per direction. */
const RING_BYTES = 1 << 20;
const PORT_MARKER = new Uint8Array(0);
/** Messages are objects, so a JSON record starts with `{`; a v8 one with its version tag (0xFF). */
const JSON_START = 0x7b;
/**
 * A JSON record with raw texts after it (see `SendOptions.texts`): this byte, three zero
 * bytes, then little-endian 32-bit words: the texts' count, the JSON's byte length, and each
 * text's byte length; then the JSON and the texts, as UTF-8.
 */
const TEXTS_START = 0x01;

/**
 * How a message is encoded: JSON text (plain JSON data, the sender checked: several times
 * faster than v8's serializer), v8's structured-clone format, both into the ring; or a
 * MessagePort message, for values too large for the ring (known before encoding them, so
 * they are not encoded twice) and transfers.
 */
export type Encoding = 'json' | 'v8' | 'port';

/** How to send one message. */
export interface SendOptions {
  readonly transfer?: readonly TransferItem[] | undefined;
  /** 'v8' unless given. */
  readonly encoding?: Encoding;
  /**
   * Strings sent after the message as UTF-8, as they are: JSON text would escape every quote
   * and newline on the way out and undo it on the way in, several times the cost of a copy for
   * text such as NDJSON. Encoding 'json' only. They arrive as the message's `texts` property,
   * in order. Each must be well-formed (`isWellFormed()`): UTF-8 cannot carry a lone surrogate.
   */
  readonly texts?: readonly string[];
  /**
   * Wake the reader at once rather than once after the current task's synchronous sends:
   * for a thread about to block on the reply (the sync bridge's caller), or whose reader is.
   */
  readonly now?: boolean;
}

/** What one side needs to open its end: created by the caller, the other end gets it as workerData. */
export interface ChannelEnds {
  readonly out: SharedArrayBuffer;
  readonly in: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** Creates the shared state of a channel: the ends for this side and for the other. */
export function createChannelEnds(
  portHere: MessagePort,
  portThere: MessagePort,
  ringBytes = RING_BYTES,
): { here: ChannelEnds; there: ChannelEnds } {
  const a = new Ring(ringBytes).sab;
  const b = new Ring(ringBytes).sab;
  return { here: { out: a, in: b, port: portHere }, there: { out: b, in: a, port: portThere } };
}

/** How the reader waits for messages. */
export interface ChannelOptions {
  /**
   * When the ring is empty and `mayBlock()` says so, block this thread up to this many ms
   * (Atomics.wait) for the next message before falling back to an event-loop wait. Waking a
   * blocked thread takes a few µs; waking an idle event loop takes tens. Only for threads
   * whose event loop may pause that long (a pool worker between calls), never the caller's.
   */
  readonly blockingWaitMs?: number;
  /**
   * Whether blocking is harmless now: false while the thread's event loop has work the
   * messages depend on (a pool worker with async calls in flight), which must not wait.
   * Given, it also vouches that no send is pending in a microtask, so the reader blocks where
   * it finds the ring empty; without it, only at the start of a macrotask (one hop first).
   */
  readonly mayBlock?: () => boolean;
  /**
   * Before blocking, poll the ring for up to this many µs (adapting, see Spin). A thread that
   * polls needs no wake-up (a system call for the writer and a context switch for both, each
   * several µs in a VM), so a caller sending its next call soon after a reply is not slowed
   * by one. Only where a spare core exists: on one core the poll would take the writer's time.
   */
  readonly spinMaxUs?: number;
  /**
   * Threads that may poll at once, counted in the first word of `spinners` (shared by every
   * thread that polls for the same caller): a thread polls only while fewer than `spinLimit`
   * do, so that polling never takes a core the calling thread (or a working thread) needs.
   */
  readonly spinners?: Int32Array;
  readonly spinLimit?: number;
  /**
   * 'sync': no reader runs on the event loop; the owner calls `receiveSync()` (a thread that
   * blocks for its reply). Default 'async'.
   */
  readonly receive?: 'async' | 'sync';
  /**
   * For a reader on the event loop: whether its owner expects no message now (none of its
   * requests is in flight, so nothing can come before this thread sends again). The reader
   * then does not sleep on the ring but looks again once this thread has sent and paid the
   * wake-up. Where the woken thread answered at once (it ran on this core while the wake-up
   * was paid), the reply is read in the same task: no task posted to this thread, no
   * event-loop turn (a 1-core round trip: 25 -> 16 µs). Else it sleeps on the ring as usual.
   * A send with `now` wakes the other side at once and does not make a dormant reader look
   * again: the owner must expect something before it sends with `now` what will be answered
   * (the pool sends its calls without it; it signals with it only about streams in flight).
   * Worth it only where the peer shares this thread's core: elsewhere the reply comes later,
   * and the wait registered after the send (Atomics.waitAsync) takes the lock of V8's wait
   * list just as the woken peer needs it. The pool says so only on one core.
   */
  readonly expectsNothing?: () => boolean;
}

/** Yield to the event loop (timers, I/O) at least this often while messages keep coming. */
const MACROTASK_YIELD_MS = 4;

/**
 * Rings this thread has written to without waking their readers yet. A burst of sends in one
 * task shares one wake-up per ring (a wake-up is a system call), paid by a microtask at the
 * end of the task, or earlier, by `payWakeups()`, wherever this thread is about to wait.
 * The invariant: no thread blocks (Atomics.wait) or goes back to its event loop while it owes
 * a wake-up, or its reader would sleep on a message that is already there.
 */
const owed = new Set<Ring>();
/**
 * Readers of this thread that expect nothing until it sends, by the ring their channel sends
 * on: each looks again once a wake-up on that ring is paid (see `ChannelOptions.expectsNothing`).
 */
const dormant = new Map<Ring, () => void>();
let payQueued = false;
/** When this thread first owed the wake-ups it owes now (performance.now()). */
let owedSince = 0;

function owe(ring: Ring): void {
  if (owed.size === 0) owedSince = performance.now();
  owed.add(ring);
  if (!payQueued) {
    payQueued = true;
    queueMicrotask(payWakeups);
  }
}

/** Wakes the readers of every ring this thread has written to since the last payment. */
export function payWakeups(): void {
  payQueued = false;
  if (owed.size === 0) return;
  for (const ring of owed) ring.notify();
  const looks = dormant.size > 0 ? wokenBy(owed) : undefined;
  owed.clear();
  if (looks) for (const look of looks) look();
}

/** The dormant readers of the channels that send on `rings`, no longer dormant. */
function wokenBy(rings: Set<Ring>): (() => void)[] | undefined {
  let looks: (() => void)[] | undefined;
  for (const ring of rings) {
    const look = dormant.get(ring);
    if (!look) continue;
    dormant.delete(ring);
    (looks ??= []).push(look);
  }
  return looks;
}

/** Whether this thread owes any reader a wake-up (for tests of the invariant). */
export function owesWakeups(): boolean {
  return owed.size > 0;
}

/**
 * Pays the wake-ups owed before this thread runs something that may take long (a call that is
 * not known to be short, a stream's generator), or once they have been owed for `maxMs`: a
 * reply already written must not wait in the ring for the end of a long call behind it.
 */
export function payWakeupsBeforeLongWork(mayBeLong: boolean, maxMs: number): void {
  if (owed.size > 0 && (mayBeLong || performance.now() - owedSince >= maxMs)) payWakeups();
}

export class Channel<Out, In> {
  private readonly out: Ring;
  private readonly in: Ring;
  private readonly port: MessagePort;
  /**
   * Records larger than this take the port: a record must always fit an emptied ring (else it
   * would wait for room forever), and one huge copy should not hold up the small ones.
   * For JSON it bounds the UTF-16 length, so that even 3 bytes per unit fit.
   */
  private readonly maxRecord: number;
  private readonly onBatch: (messages: In[]) => void;
  /** Records waiting for room in a full ring, in order. */
  private backlog: Uint8Array[] = [];
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly blockingWaitMs: number;
  private readonly mayBlock: () => boolean;
  private readonly vouched: boolean;
  private readonly spin: Spin;
  private readonly expectsNothing: (() => boolean) | undefined;

  constructor(ends: ChannelEnds, onBatch: (messages: In[]) => void, options: ChannelOptions = {}) {
    this.blockingWaitMs = options.blockingWaitMs ?? 0;
    this.spin = new Spin(options.spinMaxUs ?? 0, options.spinners, options.spinLimit ?? 1);
    this.mayBlock = options.mayBlock ?? (() => true);
    this.vouched = options.mayBlock !== undefined;
    this.expectsNothing = options.expectsNothing;
    this.out = new Ring(ends.out);
    this.in = new Ring(ends.in);
    this.maxRecord = this.out.capacity / 4;
    this.port = ends.port;
    this.onBatch = onBatch;
    if (options.receive !== 'sync') queueMicrotask(this.readLoop); // after the constructor: handlers may refer to this channel
  }

  /**
   * Sends `message`, encoded as `options.encoding` says (see `Encoding`); `transfer` lists
   * objects to move rather than copy.
   */
  send(message: Out, options: SendOptions = {}): void {
    let record: Uint8Array;
    if (options.transfer?.length || options.encoding === 'port') record = this.viaPort(message, options.transfer);
    else if (options.texts) record = this.withTexts(message, options.texts);
    else if (options.encoding === 'json') {
      const text = JSON.stringify(message);
      if (text.length > this.maxRecord) record = this.viaPort(message);
      else if (this.backlog.length === 0 && this.out.writeString(text)) {
        this.wake(options.now);
        return;
      } else record = Buffer.from(text);
    } else {
      try {
        record = v8.serialize(message);
        if (record.byteLength > this.maxRecord) record = this.viaPort(message);
      } catch {
        record = this.viaPort(message); // e.g. a SharedArrayBuffer, which only a port can share
      }
    }
    if (this.backlog.length > 0 || !this.out.write(record)) {
      this.backlog.push(record);
      this.retry ??= setTimeout(() => this.flushBacklog(), 0);
    }
    this.wake(options.now);
  }

  /** Wakes the reader now, or once per burst of sends (see `owe`). */
  private wake(now: boolean | undefined): void {
    // Small on purpose: it runs inside every send.
    if (now) {
      owed.delete(this.out);
      this.out.notify();
    } else owe(this.out);
  }

  /**
   * For a channel opened with `receive: 'sync'`: the next message, blocking this thread until
   * it arrives or until `deadline` (a performance.now() time; Infinity waits untimed).
   */
  receiveSync(deadline: number): In | undefined {
    for (;;) {
      const seq = this.in.seq();
      if (this.in.read(this.take)) return this.batch.pop();
      payWakeups();
      if (deadline === Infinity) this.in.waitSync(seq, Infinity);
      else {
        const left = deadline - performance.now();
        if (left <= 0 || !this.in.waitSync(seq, left)) return undefined;
      }
    }
  }

  /**
   * Reads what the other side has written so far and hands it over now, synchronously: for
   * a peer that has died, whose last messages must still be delivered.
   */
  drain(): void {
    while (this.in.read(this.take));
    if (this.batch.length > 0) this.onBatch(this.batch.splice(0));
  }

  /** Stops reading; the threads' ends are released with them. */
  close(): void {
    this.closed = true;
    dormant.delete(this.out);
    if (this.retry) clearTimeout(this.retry);
    this.in.wake();
  }

  /** The record of a JSON message with raw texts after it (see TEXTS_START). */
  private withTexts(message: Out, texts: readonly string[]): Uint8Array {
    const json = JSON.stringify(message);
    const head = 12 + 4 * texts.length;
    let bytes = head + Buffer.byteLength(json);
    const lengths = texts.map((t) => Buffer.byteLength(t));
    for (const n of lengths) bytes += n;
    if (bytes > this.maxRecord) return this.viaPort({ ...message, texts });
    const record = Buffer.allocUnsafe(bytes);
    record.writeUInt32LE(TEXTS_START, 0);
    record.writeUInt32LE(texts.length, 4);
    let at = head;
    at += record.write(json, at, 'utf8');
    record.writeUInt32LE(at - head, 8);
    texts.forEach((text, i) => {
      record.writeUInt32LE(lengths[i]!, 12 + 4 * i);
      at += record.write(text, at, 'utf8');
    });
    return record;
  }

  /** Decodes a record written by `withTexts`. */
  private readTexts(bytes: Uint8Array, start: number): unknown {
    const word = (at: number) =>
      (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    const count = word(start + 4);
    let at = start + 12 + 4 * count;
    const jsonEnd = at + word(start + 8);
    const message = JSON.parse(this.in.text(at, jsonEnd)) as { texts?: string[] };
    at = jsonEnd;
    const texts: string[] = [];
    for (let i = 0; i < count; i++) {
      const end = at + word(start + 12 + 4 * i);
      texts.push(this.in.text(at, end));
      at = end;
    }
    message.texts = texts;
    return message;
  }

  private viaPort(message: Out, transfer?: readonly TransferItem[]): Uint8Array {
    this.port.postMessage(message, transfer);
    return PORT_MARKER;
  }

  private flushBacklog(): void {
    this.retry = undefined;
    while (this.backlog.length > 0 && this.out.write(this.backlog[0]!)) this.backlog.shift();
    this.out.notify();
    if (this.backlog.length > 0 && !this.closed) this.retry = setTimeout(() => this.flushBacklog(), 1);
  }

  /** Decodes one record and adds it to `batch`. */
  private readonly take = (bytes: Uint8Array, start: number, end: number): void => {
    let message: unknown;
    if (start === end) message = receiveMessageOnPort(this.port)!.message;
    else if (bytes[start] === JSON_START) message = JSON.parse(this.in.text(start, end));
    else if (bytes[start] === TEXTS_START) message = this.readTexts(bytes, start);
    else message = v8.deserialize(bytes.slice(start, end)); // a copy: v8.deserialize would alias typed arrays into the ring
    this.batch.push(message as In);
  };
  private readonly batch: In[] = [];
  private lastYield = performance.now();

  /**
   * The reader: drains the ring, hands the batch over, and waits for more. Written as
   * callbacks rather than an async loop: a wake-up then costs the waitAsync promise's own
   * reaction and nothing more (an async function adds a hop per await).
   */
  private readonly readLoop = (): void => this.look(false);
  /** The reader, run from a macrotask: no microtask of this thread is pending. */
  private readonly readFresh = (): void => this.look(true);

  /** Hands the batch over, then looks again after the promise continuations it caused. */
  private deliver(): void {
    const messages = this.batch.splice(0);
    try {
      this.onBatch(messages);
    } catch (err) {
      // A bug in a handler must not stop the channel; surface it where Node reports errors.
      queueMicrotask(() => {
        throw err;
      });
    }
    // Let promise continuations run (the replies' wake-ups among them) before looking again,
    // and now and then timers and I/O too.
    const now = performance.now();
    if (now - this.lastYield > MACROTASK_YIELD_MS) {
      this.lastYield = now;
      setImmediate(this.readFresh);
    } else queueMicrotask(this.readLoop);
  }

  private look(fresh: boolean): void {
    this.in.awake();
    while (!this.closed) {
      const seq = this.in.seq();
      while (this.in.read(this.take));
      if (this.batch.length > 0) return this.deliver();
      // Block only where it cannot strand a message this thread has yet to send: at the start
      // of a macrotask (a pending microtask may be about to write a reply) unless the owner
      // vouches that none is owed, with every wake-up paid, and with no backlog (flushed by a
      // timer, which cannot fire meanwhile). The hop costs a 1-core round trip about 10%.
      if (this.blockingWaitMs > 0 && this.backlog.length === 0 && this.mayBlock()) {
        if (!fresh && !this.vouched) {
          setImmediate(this.readFresh);
          return;
        }
        payWakeups();
        if (this.spin.poll(this.in, seq)) continue;
        const blockedAt = performance.now();
        const woke = this.in.waitSync(seq, this.blockingWaitMs);
        this.spin.learn(woke ? performance.now() - blockedAt : Infinity);
        if (woke) continue;
      }
      if (owed.size > 0) {
        // Pay what this thread sent before sleeping, and look once more: see expectsNothing.
        payWakeups();
        if (this.in.seq() !== seq) continue;
      }
      if (this.expectsNothing?.()) {
        dormant.set(this.out, this.readLoop);
        return;
      }
      this.lastYield = performance.now();
      const wake = this.in.waitAsync(seq);
      if (wake) {
        void wake.then(this.readLoop);
        return;
      }
    }
  }
}

/**
 * How long a reader polls before it blocks, learned from how long it then blocked: a reader
 * woken within about one more poll of giving up (a near miss) polls longer next time, up to the
 * maximum; one that blocked longer polls half as long. Calls back to back (the next sent as soon
 * as the reply is read) come within a poll and keep it; calls spaced wider than the maximum (a
 * caller that yields to its event loop between calls) turn it off: polling that ends just short
 * of every call costs its whole length in CPU, taken from the calling thread on a shared core,
 * and the wake-up anyway (spaced calls at setImmediate gaps: p50 0.12-0.15 ms with polls of up
 * to 100 µs kept up by a wider near miss, 0.06 ms without polls).
 */
export class Spin {
  private us: number;
  private readonly maxUs: number;
  private readonly spinners: Int32Array | undefined;
  private readonly limit: number;

  constructor(maxUs: number, spinners: Int32Array | undefined, limit: number) {
    this.maxUs = maxUs;
    this.us = maxUs / 4;
    this.spinners = spinners;
    this.limit = limit;
  }

  /** How long the next poll lasts, µs. */
  get budgetUs(): number {
    return this.us;
  }

  /** Polls `ring` for a write after `seq` for the current budget; true if one came. */
  poll(ring: Ring, seq: number): boolean {
    if (this.us < 1) return false;
    const spinners = this.spinners;
    if (spinners && Atomics.add(spinners, 0, 1) >= this.limit) {
      Atomics.sub(spinners, 0, 1); // enough threads poll already: the cores are taken
      return false;
    }
    try {
      const until = performance.now() + this.us / 1000;
      do {
        if (ring.seq() !== seq) return true;
      } while (performance.now() < until);
      return false;
    } finally {
      if (spinners) Atomics.sub(spinners, 0, 1);
    }
  }

  /** The reader blocked for `ms` after polling in vain (Infinity: it timed out). */
  learn(ms: number): void {
    if (this.maxUs === 0) return;
    const us = ms * 1000;
    if (us < Math.max(this.us, NEAR_MISS_US)) this.us = Math.min(this.maxUs, Math.max(this.us * 2, us * 1.5, 4));
    else this.us /= 2;
  }
}

/** A wake-up this soon after giving up is a near miss even for a reader that polls little or not at all. */
const NEAR_MISS_US = 20;
