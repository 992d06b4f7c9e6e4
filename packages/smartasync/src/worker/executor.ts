/**
 * Runs the requests a worker receives, in arrival order, and answers each with one Reply:
 * calls of registered functions and of methods on replicas (built once per instance from its
 * constructor arguments), warm-up requests, and releases.
 */
import { performance } from 'node:perf_hooks';
import { labelOf, lookupKey, type Registration } from '../registry/registry.ts';
import { checkCloneable, isPlainJson, restoreBuffers, toJsonText } from '../wire/values.ts';
import { encodeThrown } from '../wire/thrown.ts';
import { disposeObject } from '../wire/dispose.ts';
import {
  CTRL_CLAIMED,
  CTRL_RUNNING,
  CTRL_SINCE,
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
import { runnableMsSince, runnableNow } from './cpu-time.ts';
import { isIterator, Producer } from './producer.ts';

/** For pool workers: the shared control words, and what to do when a call was revoked. */
export interface ControlWords {
  readonly ctrl: Int32Array;
  readonly epoch: number;
  readonly onRevoked: () => void;
}

type Replica = Record<string, unknown>;

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
  private readonly streaming = new Map<number, { count: number; ended?: () => void; idle?: Promise<void> }>();
  private readonly send: (reply: Reply, json: boolean) => void;
  private readonly control: ControlWords | undefined;

  constructor(send: (reply: Reply, json: boolean) => void, control?: ControlWords) {
    this.send = send;
    this.control = control;
  }

  /** Takes the next message: requests in arrival order; signals to a running stream at once. */
  execute(req: Message): void {
    if (req.op === 'pull') return this.producers.get(req.seq)?.pull(req.credit);
    if (req.op === 'cancel') return this.producers.get(req.seq)?.cancel();
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

  /** Claims request `seq` (compare-and-swap: the caller may have revoked it to run elsewhere). */
  private claim(seq: number): boolean {
    const ctrl = this.control?.ctrl;
    return !ctrl || Atomics.compareExchange(ctrl, CTRL_CLAIMED, seq - 1, seq) === seq - 1;
  }

  // Returns a promise only when it has to wait (a module import), so the fast path stays sync.
  private handle(req: Request): void | Promise<void> {
    if (req.op !== 'release') {
      if (req.def) this.defs.set(req.target, req.def);
      const part = req.instance;
      if (part?.ctorArgs && !this.replicas.has(part.id))
        this.unbuilt.set(part.id, restoreBuffers(part.ctorArgs, part.ctorBuffers));
    }
    // Claimed in arrival order, before anything can fail, so that the next claim follows on.
    // The pool's own requests are never revoked, so their claim always succeeds.
    if (!this.claim(req.seq) && req.op === 'call') return this.control!.onRevoked();
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

  private dispatch(req: CallRequest | PrepareRequest, reg: Registration): void {
    if (req.op === 'call') this.run(req, reg);
    else this.prepare(req, reg);
  }

  private run(req: CallRequest, reg: Registration): void {
    const started = performance.now();
    const cpuBefore = req.measureCpu ? runnableNow() : undefined;
    const ctrl = this.control?.ctrl;
    if (ctrl) {
      Atomics.store(ctrl, CTRL_SINCE, Date.now() - this.control!.epoch);
      Atomics.store(ctrl, CTRL_RUNNING, req.seq);
    }
    let result: unknown;
    let changed: string[] | undefined;
    let threw = false;
    try {
      const args = restoreBuffers(req.args, req.argBuffers);
      if (req.instance) [result, changed] = this.callMethod(req, reg, args);
      else {
        const fn = reg.target as (...a: unknown[]) => unknown;
        result = fn(...args); // called bare: stack frames show the user's name
      }
    } catch (err) {
      threw = true; // whatever was thrown, `undefined` included
      result = err;
    }
    if (ctrl) Atomics.store(ctrl, CTRL_RUNNING, 0);
    const cpuMs = cpuBefore === undefined ? undefined : runnableMsSince(cpuBefore);
    if (threw) this.fail(req.seq, result, started, cpuMs);
    else if (req.stream !== undefined) this.stream(req, reg, result, started);
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

  /** Streams the items of the generator a call returned, in chunks, as the caller's credit allows. */
  private stream(req: CallRequest, reg: Registration, it: unknown, started: number): void {
    if (!isIterator(it)) {
      const what = `${labelOf(reg, req.instance?.method)} returned ${typeof it}`;
      return this.fail(req.seq, new TypeError(`smartasync: ${what}, not a generator: it cannot be streamed.`), started);
    }
    const seq = req.seq;
    const label = `the items of ${labelOf(reg, req.instance?.method)}`;
    const reply = (more: boolean, value: StreamChunk): void => {
      let report;
      try {
        report = checkCloneable(value, label, 'result');
      } catch (err) {
        if (more) producer.cancel();
        return this.endStream(req, () => this.fail(seq, err, started));
      }
      const buffers = report?.buffers;
      const runMs = more ? 0 : performance.now() - started;
      this.send({ seq, ok: true, value, runMs, more, ...(buffers ? { buffers } : {}) }, report === undefined);
    };
    const ctrl = this.control?.ctrl;
    const producer = new Producer(it, req.stream!, {
      chunk: (items) => reply(true, { items }),
      end: (items, returned) => this.endStream(req, () => reply(false, { items, returned })),
      fail: (err) => this.endStream(req, () => this.fail(seq, err, started)),
      running: (on) => ctrl && Atomics.store(ctrl, CTRL_RUNNING, on ? seq : 0),
    });
    this.producers.set(seq, producer);
    const part = req.instance;
    if (part) {
      const uses = this.streaming.get(part.id) ?? { count: 0 };
      uses.count++;
      this.streaming.set(part.id, uses);
    }
    producer.start();
  }

  /** A stream's last reply; a replica whose last stream ended may now be released. */
  private endStream(req: CallRequest, lastReply: () => void): void {
    if (!this.producers.delete(req.seq)) return;
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
      this.send({ seq: req.seq, ok: true, value: undefined, runMs: 0 }, true);
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
      this.send({ seq, ok: true, value: undefined, runMs: 0 }, true);
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
    let report;
    try {
      // A generator's JSON is the array of its items, collected here.
      if (req.resultAsJson)
        value = toJsonText(
          isIterator(value) && Symbol.iterator in value ? Array.from(value as Iterable<unknown>) : value,
        );
      report = checkCloneable(value, `the return value of ${labelOf(reg, req.instance?.method)}`, 'result');
    } catch (err) {
      return this.fail(req.seq, err, started, cpuMs);
    }
    const buffers = report?.buffers;
    const reply: Reply = { seq: req.seq, ok: true, value, runMs: performance.now() - started, cpuMs };
    const extra =
      buffers || changed
        ? { ...reply, ...(buffers ? { buffers } : {}), ...(changed ? { changedFields: changed } : {}) }
        : reply;
    this.send(extra, report === undefined);
  }

  // An error crosses as JSON whenever it can (nearly always, see encodeThrown). v8's serializer,
  // the other encoding, leaves native memory behind per message until a full GC collects the
  // serializer object, which V8 does not hurry (it does not see that memory): a stream of
  // errors held hundreds of MB per worker that way (issue 8).
  private fail(seq: number, err: unknown, started = performance.now(), cpuMs?: number): void {
    const value = encodeThrown(err);
    this.send({ seq, ok: false, value, runMs: performance.now() - started, cpuMs }, isPlainJson(value));
  }
}

function changedFields(before: Map<string, unknown>, obj: Record<string, unknown>): string[] | undefined {
  const changed: string[] = [];
  for (const [k, v] of Object.entries(obj)) if (!before.has(k) || before.get(k) !== v) changed.push(k);
  for (const k of before.keys()) if (!(k in obj)) changed.push(k);
  return changed.length ? changed : undefined;
}
