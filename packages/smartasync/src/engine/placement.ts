/**
 * Where and when a call runs: the pool's workers (created on demand, the express worker
 * included), the two lines of waiting calls, pinned instances' workers, and the watch that
 * takes calls back from a worker stuck in a long synchronous call. The policy it follows is
 * in head-of-line.ts; what happens to a call once it settles, fails or its worker dies is the
 * pool's business (pool.ts).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Reply, StreamChunk } from '../wire/protocol.ts';
import type { PoolOptions } from '../types.ts';
import { HeadOfLine } from './head-of-line.ts';
import { Lines } from './lines.ts';
import { WorkerLink, type Outgoing } from './worker-link.ts';
import type { InstanceRef, Task } from './task.ts';

/** A request in flight or waiting: a call (with its Task) or the pool's own bookkeeping. */
export interface Pending {
  /** For messages: `hash()`, `release of an instance of class Db`. */
  readonly label: string;
  /** undefined for the pool's own requests (release, prepare): no stats, never cancelled. */
  readonly task: Task | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** Streams: where each chunk of items goes before the last reply settles the call. */
  readonly onChunk?: (chunk: StreamChunk) => void;
  readonly enqueuedAt: number;
  /** Its function's calls run long (see head-of-line.ts) ... */
  readonly long: boolean;
  /** ... and keep a CPU busy. */
  readonly cpuBound: boolean;
  /** A release settles when its worker dies (the replica is gone); a prepare fails. */
  readonly okOnCrash: boolean;
  seq: number;
  worker?: PoolWorker;
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

/** A pool worker and the calls it holds. */
export class PoolWorker extends WorkerLink {
  readonly inflight = new Map<number, Pending>();
  /** Calls of instances pinned here, waiting their turn in order. */
  readonly pinnedLine: Pending[] = [];
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

  constructor(
    index: number,
    express: boolean,
    options: PoolOptions,
    epoch: number,
    onReplies: (replies: Reply[]) => void,
  ) {
    const name = express ? 'smartasync-express' : `smartasync-${index}`;
    super({ role: 'pool', name, epoch, resourceLimits: options.resourceLimits, execArgv: options.execArgv, onReplies });
    this.express = express;
  }

  /** Whether it is stuck in one synchronous call (see STALL_MS). */
  isStalled(now: number): boolean {
    return this.stalled(now, STALL_MS);
  }

  /** Whether a call for the shared lines may go here: not pinned-busy, no long call held. */
  takesShared(): boolean {
    return this.pinnedLine.length === 0 && this.long === 0;
  }
}

/** What the placement tells the pool. */
export interface PlacementEvents {
  onReplies(worker: PoolWorker, replies: Reply[]): void;
  onExit(worker: PoolWorker, code: number): void;
  /** A call whose request could not be encoded: it must fail alone. */
  onUnsendable(call: Pending, err: unknown): void;
}

export class Placement {
  /** Every live worker, the express one included. */
  readonly workers: PoolWorker[] = [];
  readonly lines = new Lines<Pending>();
  readonly policy: HeadOfLine;
  expressCalls = 0;
  private regular = 0;
  private express: PoolWorker | undefined;
  /** The worker each pinned instance keeps to. */
  private readonly pins = new WeakMap<InstanceRef, PoolWorker>();
  private nextIndex = 1;
  private pinRotation = 0;
  private readonly epoch = Date.now();
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Worker threads at most, the express worker aside. */
  readonly size: number;
  private readonly concurrency: number;
  private readonly options: PoolOptions;
  private readonly events: PlacementEvents;

  constructor(
    options: PoolOptions & { readonly size: number; readonly concurrencyPerWorker: number },
    events: PlacementEvents,
  ) {
    this.options = options;
    this.events = events;
    this.size = options.size;
    this.concurrency = options.concurrencyPerWorker;
    this.policy = new HeadOfLine(options.headOfLine, options.size, os.availableParallelism());
  }

  /** Whether any worker was ever started. */
  get started(): boolean {
    return this.nextIndex > 1;
  }

  /** Starts every worker the pool may have (the express one too) that is not running yet. */
  startAll(): void {
    while (this.regular < this.size) this.spawn(false);
    if (this.policy.enabled) this.express ??= this.spawn(true);
  }

  /** Sends `call` to a worker now if one may take it; false when it must wait in line. */
  place(call: Pending): boolean {
    const instance = call.task!.instance;
    if (instance?.pinned) {
      const worker = this.pinFor(instance);
      if (worker.pinnedLine.length === 0 && worker.inflight.size < this.concurrency) this.dispatch(worker, call);
      else worker.pinnedLine.push(call);
      return true; // a pinned call waits in its worker's own line, never the shared ones
    }
    const worker = call.long ? this.workerForLong(call) : this.workerForShort();
    if (!worker) return false;
    this.dispatch(worker, call);
    // Sent behind another call: look again once that one could count as stalled.
    if (worker.inflight.size > 1) this.rebalanceTimer ??= setTimeout(this.rebalance, STALL_MS + 1).unref();
    return true;
  }

  /** Sends one of the pool's own requests to `worker`, outside every line. */
  sendControl(worker: PoolWorker, call: Pending, outgoing: Outgoing): void {
    worker.send(outgoing);
    call.seq = outgoing.request.seq;
    call.worker = worker;
    this.hold(worker, call);
  }

  /** Fills `worker` up to its concurrency: its pinned line first, then short calls, then one long call. */
  pump(worker: PoolWorker): void {
    while (worker.pinnedLine.length > 0 && worker.inflight.size < this.concurrency)
      this.dispatch(worker, worker.pinnedLine.shift()!);
    if (!worker.takesShared() || this.lines.size === 0 || worker.isStalled(Date.now())) return;
    for (let next; worker.inflight.size < this.concurrency && (next = this.lines.short.shift());)
      this.dispatch(worker, next);
    const first = this.lines.long.peek();
    if (
      first &&
      !worker.express &&
      worker.inflight.size < this.concurrency &&
      this.mayStartLong(first, performance.now())
    ) {
      this.dispatch(worker, this.lines.long.shift()!);
    }
  }

  /** Places waiting calls after a change of capacity (a worker went away, a hold lifted). */
  pumpAll(): void {
    for (const w of this.workers) this.pump(w);
    while (this.regular < this.size && this.hasPlaceable()) this.pump(this.spawn(false));
  }

  /** Marks `call` as no longer held by its worker (its reply came, or it was taken back). */
  unhold(worker: PoolWorker, call: Pending): void {
    worker.inflight.delete(call.seq);
    if (call.long) worker.long--;
    if (call.cpuBound) worker.cpuLong--;
    if (worker.inflight.size === 0) worker.worker.unref();
  }

  /** Takes `call` out of whichever line it waits in (shared or pinned); false if none. */
  remove(call: Pending): boolean {
    const pinned = call.task?.instance && this.pins.get(call.task.instance);
    const at = pinned ? pinned.pinnedLine.indexOf(call) : -1;
    if (at >= 0) {
      pinned!.pinnedLine.splice(at, 1);
      return true;
    }
    return this.lines.remove(call);
  }

  /** Takes `worker` out of the pool; the pool then accounts for the calls it held. */
  retire(worker: PoolWorker): void {
    worker.retired = true;
    this.workers.splice(this.workers.indexOf(worker), 1);
    if (worker.express) this.express = undefined;
    else this.regular--;
  }

  /** Places `calls` again (those a retired worker never started), ahead of later ones. */
  replace(calls: readonly Pending[]): void {
    for (const call of calls) {
      call.worker = undefined;
      if (!this.place(call)) this.lines.pushFront([call]);
    }
    this.pumpAll();
  }

  /** Long calls waiting while the hold keeps their capacity for short calls. */
  heldBack(): number {
    const first = this.lines.long.peek();
    return first && !this.longAllowed(first, performance.now()) ? this.lines.long.size : 0;
  }

  /** Stops the timers; the pool ends the workers. */
  stop(): void {
    clearTimeout(this.holdTimer);
    clearTimeout(this.rebalanceTimer);
  }

  // ---- choosing a worker ----------------------------------------------------------------

  private spawn(express: boolean): PoolWorker {
    const worker: PoolWorker = new PoolWorker(this.nextIndex++, express, this.options, this.epoch, (replies) =>
      this.events.onReplies(worker, replies),
    );
    worker.worker.on('error', (err) => (worker.lastError = err));
    worker.worker.on('exit', (code) => this.events.onExit(worker, code));
    this.workers.push(worker);
    if (express) this.express = worker;
    else this.regular++;
    return worker;
  }

  /** A worker for a short call: one holding no long call, else a new one, else the express one. */
  private workerForShort(): PoolWorker | undefined {
    const best = this.leastBusy();
    if (best?.inflight.size === 0) return best;
    if (this.regular < this.size) return this.spawn(false);
    if (best || !this.policy.enabled) return best;
    const express = this.express ?? this.spawn(true);
    return express.inflight.size < this.concurrency && !express.isStalled(Date.now()) ? express : undefined;
  }

  /** A worker for a long call, if the hold on long calls allows one now. */
  private workerForLong(call: Pending): PoolWorker | undefined {
    if (!this.mayStartLong(call, performance.now())) return undefined;
    const best = this.leastBusy(); // behind short calls only: they finish soon
    if (best?.inflight.size === 0 || this.regular >= this.size) return best;
    return this.spawn(false);
  }

  /**
   * The regular worker with the fewest calls among those that hold no long call and have
   * room; an idle one at once. Stalled workers on the way give back their waiting calls.
   */
  private leastBusy(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    let now = 0;
    for (const w of this.workers) {
      if (w.express || !w.takesShared()) continue;
      if (w.inflight.size === 0) return w;
      if (w.isStalled((now ||= Date.now()))) {
        this.steal(w);
        continue;
      }
      if (w.inflight.size < this.concurrency && (!best || w.inflight.size < best.inflight.size)) best = w;
    }
    return best;
  }

  /** The worker a pinned instance keeps to, chosen (or moved, if its worker died) now if need be. */
  pinFor(instance: InstanceRef): PoolWorker {
    let worker = this.pins.get(instance);
    if (!worker || worker.retired) {
      if (this.regular < this.size) worker = this.spawn(false);
      else {
        const regular = this.workers.filter((w) => !w.express);
        worker = regular[this.pinRotation++ % regular.length]!;
      }
      this.pins.set(instance, worker);
    }
    return worker;
  }

  /** Forgets the worker a released instance was pinned to. */
  unpin(instance: InstanceRef): void {
    this.pins.delete(instance);
  }

  // ---- the hold on long calls -----------------------------------------------------------

  /** Whether `call` (long) may start at `now`, as far as the hold on long calls goes. */
  private longAllowed(call: Pending, now: number): boolean {
    if (!call.cpuBound) return true;
    let running = 0;
    for (const w of this.workers) running += w.cpuLong;
    return running < this.policy.longLimit(now);
  }

  /** Whether `call` (long) may start now; if the hold forbids it, looks again when it lifts. */
  private mayStartLong(call: Pending, now: number): boolean {
    if (this.longAllowed(call, now)) return true;
    if (!this.holdTimer) {
      const wait = Math.max(1, this.policy.holdEndsAt() - now);
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.pumpAll();
      }, wait).unref();
    }
    return false;
  }

  private hasPlaceable(): boolean {
    const first = this.lines.long.peek();
    return this.lines.short.size > 0 || (first !== undefined && this.mayStartLong(first, performance.now()));
  }

  // ---- sending and taking back ----------------------------------------------------------

  private hold(worker: PoolWorker, call: Pending): void {
    if (worker.inflight.size === 0) worker.worker.ref(); // a call in flight keeps the process alive
    worker.inflight.set(call.seq, call);
    if (call.long) worker.long++;
    if (call.cpuBound) worker.cpuLong++;
  }

  /** Sends `call` to `worker`; a call that cannot be encoded (which the check let pass) fails alone. */
  private dispatch(worker: PoolWorker, call: Pending): void {
    const task = call.task!;
    // CPU time is measured where it may matter: calls of long or unknown functions.
    const outgoing = worker.callRequest(task, call.long || task.profile.count === 0);
    try {
      worker.send(outgoing, { transfer: task.options?.transfer });
    } catch (err) {
      this.events.onUnsendable(call, err);
      return;
    }
    call.seq = outgoing.request.seq;
    call.worker = worker;
    this.hold(worker, call);
    if (worker.express) this.expressCalls++;
  }

  /** Takes unstarted calls back from stalled workers and gives them to free ones. */
  private readonly rebalance = (): void => {
    this.rebalanceTimer = undefined;
    const now = Date.now();
    let waiting = false;
    for (const w of this.workers) {
      if (w.isStalled(now)) this.steal(w);
      else if (w.inflight.size > 1) waiting = true; // may stall later: keep watching
    }
    this.pumpAll();
    if (waiting) this.rebalanceTimer = setTimeout(this.rebalance, STALL_MS + 1).unref();
  };

  /**
   * Takes back the calls `worker` holds but has not started, so they run on a free worker
   * (calls settled meanwhile, aborted ones, are dropped: they never run). Pinned calls and the
   * pool's own requests stay: they must run there, in order. The calls taken back are placed
   * on the next turn (the timer holds no handle: a stalled worker still holds its running call).
   */
  steal(worker: PoolWorker): void {
    let last = worker.nextSeq - 1;
    for (const [seq, call] of worker.inflight) {
      if (seq <= last && (!call.task || call.task.instance?.pinned)) last = Math.min(last, seq - 1);
    }
    const claimed = worker.revokeUpTo(last);
    if (claimed >= last) return;
    const taken = [...worker.inflight.values()].filter((call) => call.seq > claimed && call.seq <= last);
    for (const call of taken) {
      this.unhold(worker, call);
      call.worker = undefined;
    }
    this.lines.pushFront(taken.filter((call) => !call.settled));
    this.rebalanceTimer ??= setTimeout(this.rebalance, 0).unref();
  }
}
