/**
 * Runs the requests a worker receives, in arrival order, and answers each with one Reply:
 * calls of registered functions and of methods on replicas (built once per instance from its
 * constructor arguments), warm-up requests, and releases.
 */
import { performance } from 'node:perf_hooks';
import { labelOf, lookupKey, type Registration } from '../registry/registry.ts';
import {
  checkCloneable,
  type Described,
  encodingOf,
  isPlainJson,
  restoreBuffers,
  toJsonText,
  type SizeTally,
  type ValuePath,
} from '../wire/values.ts';
import { encodeThrown } from '../wire/thrown.ts';
import { payWakeupsBeforeLongWork, type Encoding } from '../wire/transport.ts';
import { withinCallerSpan } from '../wire/otel.ts';
import { disposeObject } from '../wire/dispose.ts';
import {
  CTRL_RUNNING,
  CTRL_SINCE,
  CTRL_SLOTS,
  CTRL_STOP,
  tagOf,
  type CallRequest,
  type InstancePart,
  type PrepareRequest,
  type Message,
  type Reply,
  type Request,
  type StreamChunk,
  type TargetDef,
} from '../wire/protocol.ts';
import { RegistrationError } from '../errors.ts';
import { findTarget } from './load.ts';
import { CarriedStores, type Within } from './context.ts';
import { PreemptionClock, runnableMsSince, runnableNow } from './cpu-time.ts';
import { isIterator, Producer, type ProducerOutput } from './producer.ts';

/** For pool workers: the shared control words, and what to do when a call was revoked. */
export interface ControlWords {
  /** CTRL_* words, then the claim slots. */
  readonly ctrl: Int32Array;
  readonly epoch: number;
  readonly onRevoked: () => void;
}

type Replica = Record<string, unknown>;

/**
 * A stream's items that are all strings and add up to this many units cross as raw text (see
 * the transport's `texts`): NDJSON through JSON text costs an escape per quote each way.
 */
const TEXT_ITEMS_UNITS = 1024;

/** The items, if they should cross as raw text. */
function asTexts(items: unknown[]): string[] | undefined {
  let units = 0;
  for (const item of items) {
    if (typeof item !== 'string' || !item.isWellFormed()) return undefined;
    units += item.length;
  }
  return units >= TEXT_ITEMS_UNITS ? (items as string[]) : undefined;
}

/** Calls that ran this long (ms) or more say how long their thread was preempted meanwhile. */
const PREEMPTION_CHECK_MS = 2;

/** How long replies written by this worker may wait for the end of its batch of calls before their reader is woken. */
const OWED_REPLY_MS = 0.5;

export class Executor {
  private readonly targets = new Map<number, Registration>();
  /** Definitions and constructor arguments, kept even from revoked requests: each comes once. */
  private readonly defs = new Map<number, TargetDef>();
  private readonly unbuilt = new Map<number, unknown[]>();
  private readonly replicas = new Map<number, Replica>();
  /** Set while a module import holds the line: later requests wait behind it, in order. */
  private waiting: Promise<void> | undefined;
  /** Streams in progress, by call seq; and per instance, the streams that use its replica. */
  private readonly producers = new Map<number, Producer>();
  /**
   * Streams received but whose generator does not exist yet (their call waits in the line), by
   * seq: true once their cancel came. The shared stop word cannot be trusted for them: it holds
   * one seq per worker, and another stream's cancel may overwrite it meanwhile.
   */
  private readonly unstarted = new Map<number, boolean>();
  private readonly streaming = new Map<number, { count: number; ended?: () => void; idle?: Promise<void> }>();
  private readonly send: (reply: Reply, encoding: Encoding) => void;
  private readonly control: ControlWords | undefined;
  private readonly preemption = new PreemptionClock();
  private readonly carried = new CarriedStores(this.defs);

  constructor(send: (reply: Reply, encoding: Encoding) => void, control?: ControlWords) {
    this.send = send;
    this.control = control;
  }

  /** What the caller calls call `req` (`hash()`, `Db#query()`), for a report on it; 'the call' if unknown here. */
  labelOf(req: CallRequest): string {
    const def = this.defs.get(req.target) ?? req.def;
    const reg = this.targets.get(req.target) ?? (def && lookupKey(def.key));
    return reg ? labelOf(reg, req.instance?.method) : (def?.label ?? 'the call');
  }

  /** Takes the next message: requests in arrival order; signals to a running stream at once. */
  execute(req: Message): void {
    if (req.op === 'pull') {
      payWakeupsBeforeLongWork(true, 0); // the generator runs on now, maybe for long
      return this.producers.get(req.seq)?.pull(req.credit);
    }
    if (req.op === 'cancel') {
      const producer = this.producers.get(req.seq);
      if (producer) return producer.cancel();
      if (this.unstarted.has(req.seq)) this.unstarted.set(req.seq, true);
      return;
    }
    if (req.op === 'call' && req.stream !== undefined) this.unstarted.set(req.seq, false);
    if (this.waiting) return this.holdLine(this.waiting.then(() => this.handle(req)));
    const pending = this.handle(req);
    if (pending) this.holdLine(pending);
  }

  // The line clears when its last link settles (else every later call would take a promise
  // hop for the worker's whole life).
  private holdLine(pending: Promise<void>): void {
    const mine: Promise<void> = pending.finally(() => {
      if (this.waiting === mine) this.waiting = undefined;
    });
    this.waiting = mine;
  }

  /** Claims a call (compare-and-swap on its slot: the caller may have revoked it to run elsewhere). */
  private claim(req: Request): boolean {
    const ctrl = this.control?.ctrl;
    if (!ctrl || req.op !== 'call' || req.slot === undefined) return true; // the pool's own requests are never revoked
    const tag = tagOf(req.seq);
    return Atomics.compareExchange(ctrl, CTRL_SLOTS + req.slot, tag, -tag) === tag;
  }

  // Returns a promise only when it has to wait (a module import), so the fast path stays sync.
  private handle(req: Request): void | Promise<void> {
    if (req.op !== 'release') {
      if (req.def) this.defs.set(req.target, req.def);
      if (req.op === 'call') this.carried.note(req.context);
      const part = req.instance;
      if (part?.ctorArgs && !this.replicas.has(part.id))
        this.unbuilt.set(part.id, restoreBuffers(part.ctorArgs, part.ctorBuffers));
    }
    // Claimed before anything can fail: a revoked call never runs here.
    if (!this.claim(req)) {
      this.unstarted.delete(req.seq);
      return this.control!.onRevoked();
    }
    if (req.op === 'release') return this.release(req.seq, req.instance);
    const def = this.defs.get(req.target);
    const reg = this.targets.get(req.target) ?? (def && lookupKey(def.key));
    if (reg) {
      this.targets.set(req.target, reg);
      return this.proceed(req, reg);
    }
    if (!def) return this.fail(req.seq, new RegistrationError(`smartasync: unknown target ${req.target} in worker.`));
    return findTarget(def).then(
      (found) => {
        this.targets.set(req.target, found);
        return this.proceed(req, found);
      },
      (err: unknown) => this.fail(req.seq, err),
    );
  }

  /** Runs the request once its replica exists; a class's `replica` factory may build it asynchronously. */
  private proceed(req: CallRequest | PrepareRequest, reg: Registration): void | Promise<void> {
    let building: Promise<void> | undefined;
    try {
      building = this.buildWithFactory(req.instance, reg);
    } catch (err) {
      return this.fail(req.seq, err);
    }
    if (!building) return this.dispatch(req, reg);
    return building.then(
      () => this.dispatch(req, reg),
      (err: unknown) => this.fail(req.seq, err),
    );
  }

  /** For classes with a `replica` factory: builds the instance's replica with it, if not built yet. */
  private buildWithFactory(
    part: Omit<InstancePart, 'method'> | undefined,
    reg: Registration,
  ): Promise<void> | undefined {
    if (!part || !reg.replica || this.replicas.has(part.id)) return undefined;
    const keep = (replica: unknown): void => {
      if (typeof replica !== 'object' || replica === null) {
        throw new TypeError(
          `smartasync: the replica factory of ${reg.label} returned ${String(replica)}, not an instance.`,
        );
      }
      this.replicas.set(part.id, replica as Replica);
      this.unbuilt.delete(part.id);
    };
    const built = reg.replica();
    if (built instanceof Promise) return built.then(keep);
    keep(built);
    return undefined;
  }

  private dispatch(req: CallRequest | PrepareRequest, reg: Registration): void | Promise<void> {
    if (req.op !== 'call') return this.prepare(req, reg);
    const within = this.carried.within(req.context);
    if (!(within instanceof Promise)) return this.run(req, reg, traced(req, within));
    return within.then(
      (w) => this.run(req, reg, traced(req, w)),
      (err: unknown) => this.fail(req.seq, err),
    );
  }

  private run(req: CallRequest, reg: Registration, within: Within | undefined): void {
    // The replies of earlier calls go out before one that may run long (measureCpu: the pool
    // does not know it to be short) starts, or once they have waited OWED_REPLY_MS.
    payWakeupsBeforeLongWork(req.measureCpu === true || req.stream !== undefined, OWED_REPLY_MS);
    const started = performance.now();
    this.preemption.tick(started);
    const cpuBefore = req.measureCpu ? runnableNow() : undefined;
    this.markRunning(req.seq);
    const outcome = within ? within(() => this.invoke(req, reg)) : this.invoke(req, reg);
    this.markRunning(0);
    const cpuMs = cpuBefore === undefined ? undefined : runnableMsSince(cpuBefore);
    const { result, changed } = outcome;
    if (outcome.threw) this.fail(req.seq, result, started, cpuMs);
    else if (req.stream !== undefined) this.stream(req, reg, result, started, within);
    else if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      (result as PromiseLike<unknown>).then(
        (value) => this.succeed(req, reg, value, started, cpuMs, changed),
        (err: unknown) => this.fail(req.seq, err, started, cpuMs),
      );
    } else this.succeed(req, reg, result, started, cpuMs, changed);
  }

  /** Marks the call numbered `seq` (0: none) as running synchronous code, for the pool's stall watch. */
  private markRunning(seq: number): void {
    const ctrl = this.control?.ctrl;
    if (!ctrl) return;
    if (seq !== 0) Atomics.store(ctrl, CTRL_SINCE, Date.now() - this.control!.epoch);
    Atomics.store(ctrl, CTRL_RUNNING, seq === 0 ? 0 : tagOf(seq));
  }

  /** Calls the function, or the method on its replica: what it returned, or what it threw. */
  private invoke(req: CallRequest, reg: Registration): { result: unknown; changed?: string[]; threw: boolean } {
    try {
      const args = restoreBuffers(req.args, req.argBuffers);
      if (req.instance) {
        const [result, changed] = this.callMethod(req, reg, args);
        return { result, changed, threw: false };
      }
      const fn = reg.target as (...a: unknown[]) => unknown;
      return { result: fn(...args), threw: false }; // called bare: stack frames show the user's name
    } catch (err) {
      return { result: err, threw: true }; // whatever was thrown, `undefined` included
    }
  }

  /** Streams the items of the generator a call returned, in chunks, as the caller's credit allows. */
  private stream(req: CallRequest, reg: Registration, it: unknown, started: number, within?: Within): void {
    if (!isIterator(it)) {
      const what = `${labelOf(reg, req.instance?.method)} returned ${typeof it}`;
      return this.fail(req.seq, new TypeError(`smartasync: ${what}, not a generator: it cannot be streamed.`), started);
    }
    const seq = req.seq;
    const label = labelOf(reg, req.instance?.method);
    const chunk = new ChunkCheck(label);
    const reply = (more: boolean, value: StreamChunk): void => {
      const { plain, first, perItem } = chunk;
      const buffers = chunk.take();
      const runMs = more ? 0 : performance.now() - started;
      const texts = plain ? asTexts(value.items) : undefined;
      const message = texts
        ? { seq, ok: true, value: { ...value, items: [] }, runMs, more, texts }
        : { seq, ok: true, value, runMs, more, ...(buffers ? { buffers } : {}) };
      let sent = this.trySend(message, plain ? 'json' : 'v8', `the items of ${label}`);
      // The check passed an item the encoder refuses (a Proxy inside a Date's place, say): send
      // the items before it one by one, then fail at it, as if the check had caught it.
      if (sent !== true && value.items.length > 0) sent = this.sendOneByOne(seq, value, first, perItem, label);
      if (sent === true) return;
      if (!more) return this.fail(seq, sent, started); // the last reply: endStream is under way
      producer.fail(sent); // the generator ends first: its `finally` runs before the caller hears
    };
    const producer: Producer = new Producer(it, req.stream!, this.producerOutput(req, chunk, started, reply, within));
    this.producers.set(seq, producer);
    if (this.unstarted.get(seq)) producer.cancel(); // ends before its first item
    this.unstarted.delete(seq);
    const part = req.instance;
    if (part) {
      const uses = this.streaming.get(part.id) ?? { count: 0 };
      uses.count++;
      this.streaming.set(part.id, uses);
    }
    producer.start();
  }

  /** Where a stream's producer reports to: the replies of call `req`, checked item by item. */
  private producerOutput(
    req: CallRequest,
    chunk: ChunkCheck,
    started: number,
    reply: (more: boolean, value: StreamChunk) => void,
    within: Within | undefined,
  ): ProducerOutput {
    const { seq } = req;
    const tag = tagOf(seq);
    const ctrl = this.control?.ctrl;
    return {
      chunk: (items) => reply(true, { items }),
      end: (items, returned) =>
        this.endStream(req, () => {
          try {
            chunk.returned(returned);
          } catch (err) {
            if (items.length > 0) reply(true, { items });
            return this.fail(seq, err, started);
          }
          reply(false, { items, returned });
        }),
      fail: (err) => this.endStream(req, () => this.fail(seq, err, started)),
      check: (item, index) => chunk.item(item, index),
      running: (on) => this.markRunning(on ? seq : 0),
      stopAsked: () => {
        if (ctrl === undefined) return false;
        const stop = Atomics.load(ctrl, CTRL_STOP);
        if (stop === tag) return true;
        if (stop !== 0 && stop !== this.stopSeen) this.stopWaiting(stop);
        return false;
      },
      step: within ?? ((next) => next()),
    };
  }

  /**
   * Ends the waiting stream whose reader stopped (its tag in the stop word), from between the
   * items of another stream: that one's generator may run ahead for long on this thread, and the
   * cancel message would wait behind it (600 ms behind 150 ms items, found by the fuzzer).
   */
  private stopWaiting(stop: number): void {
    this.stopSeen = stop;
    for (const [seq, producer] of this.producers) {
      if (tagOf(seq) !== stop) continue;
      producer.cancel();
      return;
    }
  }
  /** The stop word's value last acted on by `stopWaiting`. */
  private stopSeen = 0;

  /** A stream's last reply; a replica whose last stream ended may now be released. */
  private endStream(req: CallRequest, lastReply: () => void): void {
    if (!this.producers.delete(req.seq)) return;
    // Not running any more once the last reply is read: the pool takes this worker for stuck
    // while the running word names a call that began over STALL_MS ago. Only if the word names
    // this stream: a waiting stream ended from between another's items (stopWaiting) leaves
    // that one running.
    const ctrl = this.control?.ctrl;
    if (ctrl) Atomics.compareExchange(ctrl, CTRL_RUNNING, tagOf(req.seq), 0);
    lastReply();
    const uses = req.instance && this.streaming.get(req.instance.id);
    if (uses && --uses.count === 0) {
      this.streaming.delete(req.instance!.id);
      uses.ended?.();
    }
  }

  /** Calls the method on the instance's replica; with the fields it changed, when asked to watch. */
  private callMethod(req: CallRequest, reg: Registration, args: unknown[]): [unknown, string[] | undefined] {
    const replica = this.replicaFor(req.instance!, reg);
    const method = replica[req.instance!.method];
    if (typeof method !== 'function')
      throw new TypeError(`smartasync: ${reg.label} has no method ${req.instance!.method}() in the worker.`);
    const before = req.watchFields ? new Map(Object.entries(replica)) : undefined;
    const result = (method as (...a: unknown[]) => unknown).apply(replica, args);
    return [result, before && changedFields(before, replica)];
  }

  // warm(): the module is loaded by now; build the replica if asked.
  private prepare(req: PrepareRequest, reg: Registration): void {
    try {
      if (req.instance) this.replicaFor(req.instance, reg);
      this.send({ seq: req.seq, ok: true, value: undefined, runMs: 0 }, 'json');
    } catch (err) {
      this.fail(req.seq, err);
    }
  }

  private async release(seq: number, id: number): Promise<void> {
    const uses = this.streaming.get(id);
    if (uses) await (uses.idle ??= new Promise<void>((resolve) => (uses.ended = resolve))); // streams keep their replica
    const replica = this.replicas.get(id);
    this.replicas.delete(id);
    this.unbuilt.delete(id);
    try {
      await disposeObject(replica);
      this.send({ seq, ok: true, value: undefined, runMs: 0 }, 'json');
    } catch (err) {
      this.fail(seq, err);
    }
  }

  private replicaFor(part: Omit<InstancePart, 'method'>, reg: Registration): Replica {
    let replica = this.replicas.get(part.id);
    if (!replica) {
      const args = this.unbuilt.get(part.id);
      if (!args)
        throw new RegistrationError(`smartasync: no replica of ${reg.label} for instance ${part.id} in this worker.`);
      replica = new (reg.target as new (...args: unknown[]) => Replica)(...args);
      this.replicas.set(part.id, replica);
      this.unbuilt.delete(part.id);
    }
    return replica;
  }

  private succeed(
    req: CallRequest,
    reg: Registration,
    value: unknown,
    started: number,
    cpuMs?: number,
    changed?: string[],
  ): void {
    if (req.resultAsJson && isIterator(value) && Symbol.asyncIterator in value) {
      // An async generator's JSON is the array of its items, collected here as they come.
      collect(value as AsyncIterable<unknown>).then(
        (items) => this.succeed(req, reg, items, started, cpuMs, changed),
        (err: unknown) => this.fail(req.seq, err, started, cpuMs),
      );
      return;
    }
    // Named only if something fails: a label made per call costs every call.
    const returned = (): string => `the return value of ${labelOf(reg, req.instance?.method)}`;
    let report;
    try {
      // A generator's JSON is the array of its items, collected here.
      if (req.resultAsJson)
        value = toJsonText(
          isIterator(value) && Symbol.iterator in value ? Array.from(value as Iterable<unknown>) : value,
        );
      report = checkCloneable(value, returned, 'result');
    } catch (err) {
      return this.fail(req.seq, err, started, cpuMs);
    }
    const buffers = report?.buffers;
    const runMs = performance.now() - started;
    const reply: Reply = { seq: req.seq, ok: true, value, runMs, cpuMs, waitMs: this.preempted(runMs) };
    const extra =
      buffers || changed
        ? { ...reply, ...(buffers ? { buffers } : {}), ...(changed ? { changedFields: changed } : {}) }
        : reply;
    const sent = this.trySend(extra, encodingOf(report), returned);
    if (sent !== true) this.fail(req.seq, sent, started, cpuMs);
  }

  /**
   * Sends the items of a chunk that failed to encode as chunks of one item each, up to the one
   * that cannot cross; returns the error naming it (or the return value's, if all items went).
   */
  private sendOneByOne(
    seq: number,
    value: StreamChunk,
    first: number,
    perItem: (ValuePath[] | undefined)[],
    label: string,
  ): true | TypeError {
    for (let k = 0; k < value.items.length; k++) {
      const buffers = perItem[k]?.map((p) => ['items', 0, ...p.slice(2)]);
      const one: Reply = {
        seq,
        ok: true,
        value: { items: [value.items[k]] },
        runMs: 0,
        more: true,
        ...(buffers ? { buffers } : {}),
      };
      const sent = this.trySend(one, 'v8', `item ${first + k} of the items of ${label}`);
      if (sent !== true) return sent;
    }
    return this.trySend(
      { seq, ok: true, value: { items: [] }, runMs: 0, more: true },
      'v8',
      `the items of ${label}`,
    ) === true
      ? new TypeError(`smartasync: the return value of ${label} cannot be sent to another thread.`)
      : new TypeError(`smartasync: the items of ${label} cannot be sent to another thread.`);
  }

  /**
   * Sends `reply`; true when it went. A value the check let pass but the encoder refuses (a
   * Proxy, an object whose getter throws) must fail its own call, not the worker: the error
   * that says so is returned, to be sent instead.
   */
  private trySend(reply: Reply, encoding: Encoding, what: Described): true | TypeError {
    try {
      this.send(reply, encoding);
      return true;
    } catch (err) {
      const why = (err as Error | null)?.message ?? String(err);
      const whose = typeof what === 'string' ? what : what();
      return new TypeError(`smartasync: ${whose} cannot be sent to another thread: ${why}`, { cause: err });
    }
  }

  // An error crosses as JSON whenever it can (nearly always, see encodeThrown). v8's serializer,
  // the other encoding, leaves native memory behind per message until a full GC collects the
  // serializer object, which V8 does not hurry (it does not see that memory): a stream of
  // errors held hundreds of MB per worker that way (issue 8).
  private fail(seq: number, err: unknown, started = performance.now(), cpuMs?: number): void {
    this.unstarted.delete(seq); // a stream that failed before its generator existed
    const value = encodeThrown(err);
    const runMs = performance.now() - started;
    this.send(
      { seq, ok: false, value, runMs, cpuMs, waitMs: this.preempted(runMs) },
      isPlainJson(value) ? 'json' : 'v8',
    );
  }

  /** For a call that ran `runMs` and long enough to ask: how much of it its thread was preempted. */
  private preempted(runMs: number): number | undefined {
    if (runMs < PREEMPTION_CHECK_MS) return undefined;
    const waited = this.preemption.waitedMs();
    return waited === undefined ? undefined : Math.min(runMs, waited);
  }
}

/** `within`, and inside the caller's OpenTelemetry span if the call carries one. */
function traced(req: CallRequest, within: Within | undefined): Within | undefined {
  const carrier = req.trace;
  if (!carrier) return within;
  return <T>(body: () => T): T => withinCallerSpan(carrier, within ? () => within(body) : body);
}

async function collect(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function changedFields(before: Map<string, unknown>, obj: Record<string, unknown>): string[] | undefined {
  const changed: string[] = [];
  for (const [k, v] of Object.entries(obj)) if (!before.has(k) || before.get(k) !== v) changed.push(k);
  for (const k of before.keys()) if (!(k in obj)) changed.push(k);
  return changed.length ? changed : undefined;
}

/**
 * What crosses with one chunk of a stream: each item is checked as the generator yields it (so
 * an item that cannot cross fails the stream there, after the items before it), and the chunk
 * keeps whether all its items are plain JSON and where its Buffers are.
 */
class ChunkCheck {
  plain = true;
  /** The stream index of the chunk's first item. */
  first = 0;
  /** Each item's Buffer paths (from the chunk's root), for sending items one by one. */
  perItem: (ValuePath[] | undefined)[] = [];
  private buffers: ValuePath[] | undefined;
  private count = 0;
  private readonly label: string;
  private readonly size: SizeTally = { units: 0 };
  /** The item being checked, named only if it fails (one text per item would cost a 1 M-row stream ~50 ms). */
  private index = 0;
  private readonly describeItem = () => `item ${this.index} of the items of ${this.label}`;

  constructor(label: string) {
    this.label = label;
  }

  /** Checks item `index` of the stream, the next of this chunk; throws if it cannot cross. Returns its size. */
  item(item: unknown, index: number): number {
    this.index = index;
    const before = this.size.units;
    const report = checkCloneable(item, this.describeItem, 'item', undefined, this.size);
    if (this.count === 0) this.first = index;
    let paths: ValuePath[] | undefined;
    if (report) {
      this.plain = false;
      paths = report.buffers?.map((p) => ['items', this.count, ...p]);
      if (paths) (this.buffers ??= []).push(...paths);
    }
    this.perItem[this.count] = paths;
    this.count++;
    return this.size.units - before;
  }

  /** Checks the generator's return value, which crosses with the last chunk. */
  returned(value: unknown): void {
    const report = checkCloneable(value, `the return value of ${this.label}`, 'returned');
    if (!report) return;
    this.plain = false;
    for (const p of report.buffers ?? []) (this.buffers ??= []).push(['returned', ...p]);
  }

  /** The chunk's Buffer paths; starts the next chunk. */
  take(): ValuePath[] | undefined {
    const buffers = this.buffers;
    this.buffers = undefined;
    this.count = 0;
    this.plain = true;
    this.perItem = [];
    return buffers;
  }
}
