/**
 * The worker pool: persistent workers created on demand, two lines of waiting calls (short
 * and long, see head-of-line.ts), per-call abort and timeout, exact crash accounting and
 * graceful close. It decides where a call runs and when; the transport carries the messages,
 * the worker runs them.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Channel, createChannelEnds } from './transport.ts';
import { WorkerLink } from './worker-link.ts';
import { restoreBuffers } from './clone.ts';
import {
  CallAbortedError,
  CallTimeoutError,
  PoolClosedError,
  QueueFullError,
  WorkerCrashedError,
  decodeThrown,
  type ThrownData,
} from './errors.ts';
import { allRegistrations, type Registration } from './registry.ts';
import { isEntryModule, workerResourceLimits, workerScript } from './environment.ts';
import { CallQueue } from './call-queue.ts';
import { HeadOfLine } from './head-of-line.ts';
import { instanceRefOf, type InstanceRef, type Task } from './task.ts';
import { CTRL_CLAIMED, CTRL_RUNNING, CTRL_SINCE, CTRL_WORDS, MARK, type Reply, type Request, type WorkerBoot } from './protocol.ts';
import type { DurationStats, HeadOfLineOptions, PoolOptions, PoolStats } from './types.ts';

export type { InstanceRef, Task } from './task.ts';

/** A request in flight or waiting: a call (with its Task) or the pool's own bookkeeping. */
interface Pending {
  /** For messages: `hash()`, `release of an instance of class Db`. */
  readonly label: string;
  /** undefined for the pool's own requests (release, prepare): no stats, never cancelled. */
  readonly task: Task | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  readonly enqueuedAt: number;
  /** Its function's calls run long (see head-of-line.ts) ... */
  readonly long: boolean;
  /** ... and keep a CPU busy. */
  readonly cpuBound: boolean;
  /** A release settles when its worker dies (the replica is gone); a prepare fails. */
  readonly okOnCrash: boolean;
  seq: number;
  slot?: WorkerSlot;
  settled: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

/**
 * A worker inside one synchronous call for this long (a report, a big query) takes no new
 * calls, and calls already sent to it that have not started are taken back: they would wait
 * behind it while other workers are free. It catches the calls the profiles did not foresee.
 */
const STALL_MS = 2;

class WorkerSlot {
  readonly worker: Worker;
  readonly channel: Channel<Request, Reply>;
  readonly ctrl: Int32Array;
  readonly inflight = new Map<number, Pending>();
  readonly link = new WorkerLink();
  readonly pinnedQueue: Pending[] = [];
  /** Long calls among `inflight`, and CPU-bound ones among those. */
  long = 0;
  cpuLong = 0;
  /** Exit was asked for (close, or to stop a running call): not a crash. */
  stopping = false;
  /** Taken out of the pool (stopped or dead): instances pinned to it must move. */
  retired = false;
  lastError: Error | undefined;
  /** Runs short calls only, when every other worker holds a long one. */
  readonly express: boolean;
  private readonly epoch: number;

  constructor(index: number, express: boolean, options: PoolOptions, epoch: number, onReplies: (slot: WorkerSlot, replies: Reply[]) => void) {
    this.express = express;
    this.epoch = epoch;
    const ctrl = new SharedArrayBuffer(CTRL_WORDS * 4);
    this.ctrl = new Int32Array(ctrl);
    const { port1, port2 } = new MessageChannel();
    const ends = createChannelEnds(port1, port2);
    const boot: WorkerBoot = { role: 'pool', ctrl, epoch, channel: ends.there };
    this.worker = new Worker(workerScript, {
      workerData: { [MARK]: boot },
      transferList: [port2],
      resourceLimits: workerResourceLimits(options.resourceLimits),
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
      name: express ? 'smartasync-express' : `smartasync-${index}`,
    });
    this.worker.unref(); // an idle pool never keeps the process alive
    this.channel = new Channel(ends.here, (replies) => onReplies(this, replies));
  }

  /** Whether the call with `seq` has started on the worker (or was revoked from it). */
  started(seq: number): boolean {
    return Atomics.load(this.ctrl, CTRL_CLAIMED) >= seq;
  }

  /** Whether the worker has been inside one synchronous call for longer than STALL_MS. */
  stalled(now: number): boolean {
    return Atomics.load(this.ctrl, CTRL_RUNNING) !== 0 && now - this.epoch - Atomics.load(this.ctrl, CTRL_SINCE) > STALL_MS;
  }

  /** Whether the call with `seq` is executing synchronous code right now. */
  running(seq: number): boolean {
    return Atomics.load(this.ctrl, CTRL_RUNNING) === seq;
  }

  /**
   * Revokes every request numbered up to `last` that the worker has not claimed (compare-and-
   * swap on the claim word, so none runs twice). Returns the highest seq the worker claimed.
   */
  revokeUpTo(last: number): number {
    let claimed = Atomics.load(this.ctrl, CTRL_CLAIMED);
    while (claimed < last) {
      const seen = Atomics.compareExchange(this.ctrl, CTRL_CLAIMED, claimed, last);
      if (seen === claimed) break;
      claimed = seen; // the worker claimed one meanwhile: revoke the rest
    }
    return claimed;
  }
}

class Durations {
  count = 0;
  totalMs = 0;
  maxMs = 0;
  add(ms: number): void {
    this.count++;
    this.totalMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }
  snapshot(): DurationStats {
    return { count: this.count, totalMs: this.totalMs, meanMs: this.count ? this.totalMs / this.count : 0, maxMs: this.maxMs };
  }
}

/** A pool of worker threads that runs registered code. */
export class Pool {
  private readonly options: Required<Pick<PoolOptions, 'size' | 'maxQueue' | 'concurrencyPerWorker'>> & PoolOptions;
  /** Every live worker, the express one included. */
  private readonly slots: WorkerSlot[] = [];
  private regular = 0;
  private express: WorkerSlot | undefined;
  private readonly shortLine = new CallQueue<Pending>();
  private readonly longLine = new CallQueue<Pending>();
  private readonly headOfLine: HeadOfLine;
  /** The worker each pinned instance keeps to. */
  private readonly pins = new WeakMap<InstanceRef, WorkerSlot>();
  private nextSlotIndex = 1;
  private pinRotation = 0;
  private readonly epoch = Date.now();
  private closing = false;
  private drained: (() => void) | undefined;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private expressCalls = 0;
  private readonly waitTime = new Durations();
  private readonly runTime = new Durations();
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(options: PoolOptions = {}) {
    validateOptions(options);
    this.options = {
      ...options,
      size: options.size ?? Math.max(1, os.availableParallelism()),
      maxQueue: options.maxQueue ?? 10_000,
      concurrencyPerWorker: options.concurrencyPerWorker ?? 32,
    };
    this.headOfLine = new HeadOfLine(options.headOfLine, this.options.size, os.availableParallelism());
  }

  /** Runs `task` on a worker. */
  run(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new PoolClosedError(task.label));
      const signal = task.options?.signal;
      if (signal?.aborted) return reject(new CallAbortedError(task.label, signal.reason));
      const now = performance.now();
      const long = this.headOfLine.isLong(task.profile);
      if (!long && !task.instance?.pinned) this.headOfLine.shortArrived(now);
      const call: Pending = {
        label: task.label,
        task,
        resolve,
        reject,
        enqueuedAt: now,
        long,
        cpuBound: long && this.headOfLine.isCpuBound(task.profile),
        okOnCrash: false,
        seq: 0,
        settled: false,
      };
      if (!this.place(call)) {
        if (this.queued >= this.options.maxQueue) return reject(new QueueFullError(task.label, this.options.maxQueue));
        (long ? this.longLine : this.shortLine).push(call);
      }
      const timeout = task.options?.timeout;
      if (timeout !== undefined && !call.settled) {
        call.timer = setTimeout(() => this.cancel(call, 'timeout'), timeout);
      }
      if (signal && !call.settled) {
        call.onAbort = () => this.cancel(call, 'abort');
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
    });
  }

  /**
   * Drops the worker replicas of `instance` (each is disposed in its worker). Resolves when
   * every worker holding one has done so.
   */
  async release(instance: InstanceRef): Promise<void> {
    const holders = this.slots.filter((s) => s.link.replicas.delete(instance.id));
    await Promise.all(
      holders.map((slot) =>
        this.control(slot, `release of ${instance.label}`, true, (seq) => ({
          request: { op: 'release', seq, instance: instance.id },
          json: true,
        })),
      ),
    );
    this.pins.delete(instance);
  }

  /** See `Pool.warm` in types.ts. */
  async warm(...instances: object[]): Promise<void> {
    if (this.closing) throw new PoolClosedError('warm()');
    const refs = instances.map((x, i) => {
      const ref = instanceRefOf(x);
      if (!ref) throw new TypeError(`smartasync: warm() expects instances of smartasync(Class) or @offloadable classes; argument ${i} is not one.`);
      return ref;
    });
    while (this.regular < this.options.size) this.spawn(false);
    if (this.headOfLine.enabled) this.express ??= this.spawn(true);
    const targets = allRegistrations().filter((r) => r.kind !== 'error' && r.site && !isEntryModule(r.site.moduleUrl));
    const work: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      for (const reg of targets) work.push(this.prepare(slot, reg, undefined));
      for (const ref of refs) {
        const pinnedTo = ref.pinned ? this.pinFor(ref) : undefined;
        if ((pinnedTo ?? slot) === slot) work.push(this.prepare(slot, ref.reg, ref));
      }
    }
    await Promise.all(work);
  }

  private prepare(slot: WorkerSlot, reg: Registration, ref: InstanceRef | undefined): Promise<unknown> {
    return this.control(slot, ref ? `warm-up of ${ref.label}` : `warm-up of ${reg.label}`, false, (seq) =>
      slot.link.prepareRequest(reg, ref, seq),
    );
  }

  /** Sends one of the pool's own requests to `slot`; settles with its reply. */
  private control(
    slot: WorkerSlot,
    label: string,
    okOnCrash: boolean,
    make: (seq: number) => { request: Request; json: boolean },
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const seq = slot.link.nextSeq;
      const { request, json } = make(seq);
      slot.channel.send(request, { json });
      if (request.op === 'release') slot.link.nextSeq = seq + 1;
      else slot.link.sent(request);
      const call: Pending = {
        label,
        task: undefined,
        resolve,
        reject,
        enqueuedAt: performance.now(),
        long: false,
        cpuBound: false,
        okOnCrash,
        seq,
        slot,
        settled: false,
      };
      this.hold(slot, call);
    });
  }

  /** A snapshot of the pool's state and running totals. */
  stats(): PoolStats {
    let running = 0;
    let idle = 0;
    let pinned = 0;
    for (const s of this.slots) {
      running += s.inflight.size;
      pinned += s.pinnedQueue.length;
      if (s.inflight.size === 0) idle++;
    }
    const now = performance.now();
    const first = this.longLine.peek();
    return {
      workers: this.slots.length,
      idleWorkers: idle,
      queued: this.queued + pinned,
      running,
      completed: this.completed,
      failed: this.failed,
      crashedWorkers: this.crashed,
      waitTime: this.waitTime.snapshot(),
      runTime: this.runTime.snapshot(),
      heldBack: first && !this.longAllowed(first, now) ? this.longLine.size : 0,
      expressCalls: this.expressCalls,
    };
  }

  /** The configured limits. */
  get size(): number {
    return this.options.size;
  }

  /** Whether any worker was ever started. */
  get started(): boolean {
    return this.nextSlotIndex > 1;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.closing;
  }

  /**
   * Graceful shutdown: refuses new calls, lets queued and running ones finish, then ends the
   * workers.
   */
  async close(): Promise<void> {
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
      this.checkDrained();
    });
    clearTimeout(this.holdTimer);
    clearTimeout(this.rebalanceTimer);
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        slot.stopping = true;
        slot.retired = true;
        slot.channel.close();
        return slot.worker.terminate();
      }),
    );
    this.regular = 0;
    this.express = undefined;
  }

  private get queued(): number {
    return this.shortLine.size + this.longLine.size;
  }

  // ---- placement ------------------------------------------------------------------------

  private spawn(express: boolean): WorkerSlot {
    const slot = new WorkerSlot(this.nextSlotIndex++, express, this.options, this.epoch, (s, replies) => this.onReplies(s, replies));
    slot.worker.on('error', (err) => (slot.lastError = err));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    this.slots.push(slot);
    if (express) this.express = slot;
    else this.regular++;
    return slot;
  }

  /** Sends `call` to a worker now if one may take it; false when it must wait in line. */
  private place(call: Pending): boolean {
    const instance = call.task!.instance;
    if (instance?.pinned) {
      const slot = this.pinFor(instance);
      if (slot.pinnedQueue.length === 0 && slot.inflight.size < this.options.concurrencyPerWorker) this.dispatch(slot, call);
      else slot.pinnedQueue.push(call);
      return true; // a pinned call waits in its worker's own line, never the shared ones
    }
    const slot = call.long ? this.slotForLong(call) : this.slotForShort();
    if (!slot) return false;
    this.dispatch(slot, call);
    // Sent behind another call: look again once that one could count as stalled.
    if (slot.inflight.size > 1) this.rebalanceTimer ??= setTimeout(this.rebalance, STALL_MS + 1).unref();
    return true;
  }

  /** A worker for a short call: one holding no long call, else a new one, else the express one. */
  private slotForShort(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    let now = 0;
    for (const s of this.slots) {
      if (s.express || s.long > 0 || s.pinnedQueue.length > 0) continue;
      if (s.inflight.size === 0) return s;
      if (s.stalled((now ||= Date.now()))) {
        this.steal(s);
        continue;
      }
      if (s.inflight.size < this.options.concurrencyPerWorker && (!best || s.inflight.size < best.inflight.size)) best = s;
    }
    if (this.regular < this.options.size) return this.spawn(false);
    if (best || !this.headOfLine.enabled) return best;
    const express = this.express ?? this.spawn(true);
    if (express.inflight.size >= this.options.concurrencyPerWorker || express.stalled(now || Date.now())) return undefined;
    return express;
  }

  /** A worker for a long call, if the hold on long calls allows one now. */
  private slotForLong(call: Pending): WorkerSlot | undefined {
    if (!this.mayStartLong(call, performance.now())) return undefined;
    let best: WorkerSlot | undefined;
    let now = 0;
    for (const s of this.slots) {
      if (s.express || s.long > 0 || s.pinnedQueue.length > 0) continue;
      if (s.inflight.size === 0) return s;
      if (s.stalled((now ||= Date.now()))) {
        this.steal(s);
        continue;
      }
      // Behind short calls only: they finish soon.
      if (s.inflight.size < this.options.concurrencyPerWorker && (!best || s.inflight.size < best.inflight.size)) best = s;
    }
    if (this.regular < this.options.size) return this.spawn(false);
    return best;
  }

  /** Whether `call` (long) may start at `now`, as far as the hold on long calls goes. */
  private longAllowed(call: Pending, now: number): boolean {
    if (!call.cpuBound) return true;
    let running = 0;
    for (const s of this.slots) running += s.cpuLong;
    return running < this.headOfLine.longLimit(now);
  }

  /** Whether `call` (long) may start now; if the hold forbids it, looks again when it lifts. */
  private mayStartLong(call: Pending, now: number): boolean {
    if (this.longAllowed(call, now)) return true;
    if (!this.holdTimer) {
      const wait = Math.max(1, this.headOfLine.holdEndsAt() - now);
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.pumpAll();
      }, wait).unref();
    }
    return false;
  }

  /** Takes unstarted calls back from stalled workers and gives them to free ones. */
  private readonly rebalance = (): void => {
    this.rebalanceTimer = undefined;
    const now = Date.now();
    let waiting = false;
    for (const s of this.slots) {
      if (s.stalled(now)) this.steal(s);
      else if (s.inflight.size > 1) waiting = true; // may stall later: keep watching
    }
    this.pumpAll();
    if (waiting && !this.closing) this.rebalanceTimer = setTimeout(this.rebalance, STALL_MS + 1).unref();
  };

  /**
   * Takes back the calls `slot` holds but has not started, so they run on a free worker.
   * Pinned calls and the pool's own requests stay: they must run there, in order.
   */
  private steal(slot: WorkerSlot): void {
    let last = slot.link.nextSeq - 1;
    for (const [seq, call] of slot.inflight) {
      if (seq <= last && (!call.task || call.task.instance?.pinned)) last = Math.min(last, seq - 1);
    }
    const claimed = slot.revokeUpTo(last);
    if (claimed >= last) return;
    const taken: Pending[] = [];
    for (const [seq, call] of slot.inflight) {
      if (seq > claimed && seq <= last) taken.push(call);
    }
    for (const call of taken) {
      this.unhold(slot, call);
      call.slot = undefined;
    }
    this.requeueFirst(taken);
    this.rebalanceTimer ??= setTimeout(this.rebalance, 0).unref();
  }

  /** Puts calls taken back from a worker at the front of their lines, in their order. */
  private requeueFirst(calls: readonly Pending[]): void {
    this.shortLine.pushFront(calls.filter((c) => !c.long));
    this.longLine.pushFront(calls.filter((c) => c.long));
  }

  private pinFor(instance: InstanceRef): WorkerSlot {
    let slot = this.pins.get(instance);
    if (!slot || slot.retired) {
      if (this.regular < this.options.size) slot = this.spawn(false);
      else {
        const regular = this.slots.filter((s) => !s.express);
        slot = regular[this.pinRotation++ % regular.length]!;
      }
      this.pins.set(instance, slot);
    }
    return slot;
  }

  private hold(slot: WorkerSlot, call: Pending): void {
    if (slot.inflight.size === 0) slot.worker.ref(); // a call in flight keeps the process alive
    slot.inflight.set(call.seq, call);
    if (call.long) slot.long++;
    if (call.cpuBound) slot.cpuLong++;
  }

  private unhold(slot: WorkerSlot, call: Pending): void {
    slot.inflight.delete(call.seq);
    if (call.long) slot.long--;
    if (call.cpuBound) slot.cpuLong--;
    if (slot.inflight.size === 0) slot.worker.unref();
  }

  /** Sends `call` to `slot`; a call that cannot be encoded (which the check let pass) fails alone. */
  private dispatch(slot: WorkerSlot, call: Pending): void {
    const task = call.task!;
    // CPU time is measured where it may matter: calls of long or unknown functions.
    const { request, json } = slot.link.callRequest(task, slot.link.nextSeq, call.long || task.profile.count === 0);
    try {
      slot.channel.send(request, { transfer: task.options?.transfer, json });
    } catch (err) {
      const message = `smartasync: the arguments of ${task.label} cannot be sent to another thread: ${(err as Error)?.message ?? String(err)}`;
      this.settle(call, false, new TypeError(message, { cause: err }));
      return;
    }
    slot.link.sent(request);
    call.slot = slot;
    call.seq = request.seq;
    this.hold(slot, call);
    if (slot.express) this.expressCalls++;
  }

  /** Fills `slot` up to its concurrency: its pinned line first, then short calls, then one long call. */
  private pump(slot: WorkerSlot): void {
    const limit = this.options.concurrencyPerWorker;
    while (slot.pinnedQueue.length > 0 && slot.inflight.size < limit) this.dispatch(slot, slot.pinnedQueue.shift()!);
    if (slot.pinnedQueue.length > 0 || slot.long > 0 || this.queued === 0 || slot.stalled(Date.now())) return;
    for (let next; slot.inflight.size < limit && (next = this.shortLine.shift()); ) this.dispatch(slot, next);
    const first = this.longLine.peek();
    if (first && !slot.express && slot.inflight.size < limit && this.mayStartLong(first, performance.now())) {
      this.dispatch(slot, this.longLine.shift()!);
    }
  }

  /** Places waiting calls after a change of capacity (a worker went away, a hold lifted). */
  private pumpAll(): void {
    for (const s of this.slots) this.pump(s);
    while (this.regular < this.options.size && this.hasPlaceable()) this.pump(this.spawn(false));
    this.checkDrained();
  }

  private hasPlaceable(): boolean {
    const first = this.longLine.peek();
    return this.shortLine.size > 0 || (first !== undefined && this.mayStartLong(first, performance.now()));
  }

  private checkDrained(): void {
    if (this.drained && this.queued === 0 && this.slots.every((s) => s.inflight.size === 0 && s.pinnedQueue.length === 0)) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }

  // ---- settling -------------------------------------------------------------------------

  private onReplies(slot: WorkerSlot, replies: Reply[]): void {
    const now = performance.now();
    for (const reply of replies) {
      const call = slot.inflight.get(reply.seq);
      if (!call) continue;
      this.unhold(slot, call);
      if (call.settled) continue; // aborted while it ran: the result is dropped
      const task = call.task;
      if (task) {
        this.runTime.add(reply.runMs);
        this.waitTime.add(Math.max(0, now - call.enqueuedAt - reply.runMs));
        task.profile.record(reply.runMs, reply.cpuMs);
        if (reply.changedFields) task.onChanged?.(reply.changedFields);
      }
      if (reply.ok) this.settle(call, true, restoreBuffers(reply.value, reply.buffers));
      else this.settle(call, false, decodeThrown(reply.value as ThrownData, task?.caller?.stack));
    }
    if (!slot.retired) this.pump(slot);
    this.checkDrained();
  }

  /** Settles `call` once: fulfilled with `outcome`, or rejected with it (whatever was thrown). */
  private settle(call: Pending, ok: boolean, outcome: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer) clearTimeout(call.timer);
    if (call.onAbort) call.task?.options?.signal?.removeEventListener('abort', call.onAbort);
    if (call.task) {
      if (ok) this.completed++;
      else this.failed++;
    }
    if (ok) call.resolve(outcome);
    else call.reject(outcome);
  }

  private cancel(call: Pending, why: 'abort' | 'timeout'): void {
    if (call.settled) return;
    const slot = call.slot;
    const running = slot !== undefined && slot.running(call.seq);
    const { label, options } = call.task!;
    const err = why === 'timeout' ? new CallTimeoutError(label, options!.timeout!, running) : new CallAbortedError(label, options?.signal?.reason);
    if (!slot) {
      // Still waiting: take it out of its line; it never reached a worker.
      const pinned = call.task!.instance && this.pins.get(call.task!.instance);
      const at = pinned ? pinned.pinnedQueue.indexOf(call) : -1;
      if (at >= 0) pinned!.pinnedQueue.splice(at, 1);
      else (call.long ? this.longLine : this.shortLine).remove(call);
      this.settle(call, false, err);
      this.checkDrained();
      return;
    }
    this.settle(call, false, err);
    // Synchronous code cannot be interrupted: end the worker. Calls it held that had not
    // started go back in line; any that had started cannot be finished and fail.
    if (running) this.stopWorker(slot, label);
  }

  private stopWorker(slot: WorkerSlot, reason: string): void {
    slot.stopping = true;
    this.retire(
      slot,
      (call) => new WorkerCrashedError(call.label, `was terminated to stop ${reason}, which ran past its timeout or was aborted`),
    );
    void slot.worker.terminate();
  }

  private onExit(slot: WorkerSlot, code: number): void {
    if (slot.stopping || slot.retired) return;
    this.crashed++;
    const cause = slot.lastError;
    const detail = cause
      ? `died with an uncaught error (${cause.message})`
      : `exited with code ${code} (process.exit() in the worker, or a fatal error)`;
    this.retire(slot, (call) => new WorkerCrashedError(call.label, detail, cause ? { cause } : undefined));
  }

  /**
   * Takes `slot` out of the pool, with exact accounting for the calls it held: replies the
   * worker wrote are delivered first; calls it never started go back in line (pinned ones to
   * their instance's new worker); only calls that started and did not finish fail, with
   * `failure(call)` (a WorkerCrashedError whose `started` is true: it may have had effects).
   */
  private retire(slot: WorkerSlot, failure: (call: Pending) => WorkerCrashedError): void {
    slot.retired = true;
    this.slots.splice(this.slots.indexOf(slot), 1);
    if (slot.express) this.express = undefined;
    else this.regular--;
    slot.channel.drain(); // replies written before the end: delivered, not failed
    slot.channel.close();
    // No request numbered past this can start now: a worker still winding down finds them revoked.
    const claimed = slot.revokeUpTo(slot.link.nextSeq - 1);
    const requeue: Pending[] = [];
    for (const call of slot.inflight.values()) {
      if (call.settled) continue;
      if (!call.task) {
        if (call.okOnCrash) this.settle(call, true, undefined);
        else this.settle(call, false, failure(call));
      } else if (call.seq <= claimed) this.settle(call, false, failure(call));
      else requeue.push(call);
    }
    slot.inflight.clear();
    slot.long = slot.cpuLong = 0;
    for (const call of [...requeue, ...slot.pinnedQueue]) {
      call.slot = undefined;
      if (!this.place(call)) this.requeueFirst([call]);
    }
    slot.pinnedQueue.length = 0;
    this.pumpAll();
  }
}

function validateOptions(options: PoolOptions): void {
  for (const name of ['size', 'maxQueue', 'concurrencyPerWorker'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new RangeError(`smartasync: pool option ${name} must be a whole number of at least 1, got ${String(value)}.`);
    }
  }
  const hol = options.headOfLine;
  if (hol === undefined || typeof hol === 'boolean') return;
  if (typeof hol !== 'object' || hol === null) {
    throw new TypeError(`smartasync: pool option headOfLine must be true, false or an object of settings, got ${String(hol)}.`);
  }
  for (const name of ['longCallMs', 'holdMs', 'reservedCores'] as const satisfies readonly (keyof HeadOfLineOptions)[]) {
    const value = hol[name];
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new RangeError(`smartasync: headOfLine.${name} must be a finite number of at least 0, got ${String(value)}.`);
    }
  }
}

let defaultPool: Pool | undefined;
let defaultOptions: PoolOptions = {};

/**
 * Sets the options of the default pool. Call it before the first offloaded call (or after
 * `getPool().close()`): a running pool cannot change shape under its calls.
 */
export function configure(options: PoolOptions): void {
  validateOptions(options);
  if (defaultPool && defaultPool.started && !defaultPool.closed) {
    throw new Error(
      'smartasync: configure() was called after the default pool started its workers. ' +
        'Call configure() at start-up, before the first offloaded call, or await getPool().close() first.',
    );
  }
  defaultOptions = { ...options };
  defaultPool = undefined;
}

/**
 * The default pool that wrapped functions and classes use; created on first use. Once
 * closed it stays closed (calls are refused) until `configure()` sets up a new one.
 */
export function getPool(): Pool {
  defaultPool ??= new Pool(defaultOptions);
  return defaultPool;
}
