/**
 * Where and when a call runs: the pool's workers (created on demand, the express worker
 * included), the two lines of waiting calls, pinned instances' workers, and the watch that
 * takes calls back from a worker stuck in a long synchronous call. The policy it follows is
 * in head-of-line.ts; what happens to a call once it settles, fails or its worker dies is the
 * pool's business (pool.ts).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { tagOf, type Reply, type StreamChunk } from '../wire/protocol.ts';
import type { PoolOptions } from '../types.ts';
import { HeadOfLine, type CallClass } from './head-of-line.ts';
import { Lines } from './lines.ts';
import { WorkerLink, type Outgoing } from './worker-link.ts';
import { runQueueMs } from './thread-wait.ts';
import type { InstanceRef, Task } from './task.ts';
import type { CallProfile } from './profile.ts';
import type { CallContext } from './channels.ts';
import type { CallSpan } from './trace.ts';
import { heldChannel, workerStartChannel } from './channels.ts';

/** A request in flight or waiting: a call (with its Task) or the pool's own bookkeeping. */
export interface Pending {
  /** For messages: `hash()`, `release of an instance of class Db`. */
  readonly label: string;
  /** undefined for the pool's own requests (release, prepare): no stats, never cancelled. */
  readonly task: Task | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** Streams: where each chunk of items goes before the last reply settles the call. */
  onChunk?: (chunk: StreamChunk) => void;
  readonly enqueuedAt: number;
  /** How it is placed (head-of-line.ts); a doubtful call may prove short while it waits. */
  cls: CallClass;
  /** A long or doubtful call the hold on long calls counts (see HeadOfLine.isHoldable). */
  cpuBound: boolean;
  /** A release settles when its worker dies (the replica is gone); a prepare fails. */
  okOnCrash: boolean;
  seq: number;
  /** Its claim slot on its worker, -1 for the pool's own requests. */
  slot: number;
  worker?: PoolWorker;
  /** Counted in its worker's `exclusive` (and `held`) now: it holds the worker alone. */
  holding: boolean;
  /** Streams: items the worker may still send before it needs more credit from the reader. */
  credit: number;
  /** Streams: the reader stopped (a `break`): the stream ends as the reader asked, whatever comes after. */
  readerStopped?: boolean;
  settled: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  /** Its `smartasync:call` context, while that channel has subscribers. */
  trace?: CallContext;
  /** Its OpenTelemetry span, when made inside a trace. */
  span?: CallSpan;
  /** Where and how long it ran, kept for the channel and the span. */
  ran?: { readonly worker: string; readonly waitMs: number; readonly runMs: number };
}

/** A request as it starts out: not placed, not settled; one shape for all, set in one place. */
export function newPending(
  label: string,
  task: Task | undefined,
  resolve: (value: unknown) => void,
  reject: (err: unknown) => void,
  cls: CallClass,
  enqueuedAt: number,
): Pending {
  return {
    label,
    task,
    resolve,
    reject,
    onChunk: undefined,
    enqueuedAt,
    cls,
    cpuBound: false,
    okOnCrash: false,
    seq: 0,
    slot: -1,
    worker: undefined,
    holding: false,
    credit: 0,
    readerStopped: false,
    settled: false,
    timer: undefined,
    onAbort: undefined,
    trace: undefined,
    span: undefined,
    ran: undefined,
  };
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
  /** Of `inflight`, calls (the pool's own requests aside): at most the pool's concurrencyPerWorker. */
  calls = 0;
  /** Of those, async bodies (offloadAsync): they do not wait behind each other's synchronous code. */
  asyncCalls = 0;
  /** Calls of instances pinned here, waiting their turn in order. */
  readonly pinnedLine: Pending[] = [];
  /** Calls among `inflight` that hold the worker alone (long, doubtful, a stream producing). */
  exclusive = 0;
  /** Of those, CPU-bound long calls (the hold on long calls counts them). */
  held = 0;
  /** Exit was asked for (close, or to stop a running call): not a crash. */
  stopping = false;
  /** Taken out of the pool (stopped or dead): instances pinned to it must move. */
  retired = false;
  /** Why it was stopped to end a call: what its started calls fail with once it has exited. */
  stoppedFor: string | undefined;
  /** A reply came: the worker started (a failed start is an exit before any). */
  answered = false;
  lastError: Error | undefined;
  /** Runs short calls only, when every other worker holds a long one. */
  readonly express: boolean;

  constructor(
    index: number,
    express: boolean,
    options: PoolOptions & { readonly concurrencyPerWorker: number },
    epoch: number,
    spinners: SharedArrayBuffer,
    onReplies: (replies: Reply[]) => void,
  ) {
    const name = express ? 'smartasync-express' : `smartasync-${index}`;
    super({
      role: 'pool',
      name,
      epoch,
      spinners,
      slots: options.concurrencyPerWorker,
      resourceLimits: options.resourceLimits,
      execArgv: options.execArgv,
      // The express worker keeps the caller's priority: it runs only short calls, which a
      // request is waiting for, while the others may hold long ones.
      nice: express ? 0 : options.workerNice,
      onReplies,
    });
    this.express = express;
  }

  /** Started (its first reply came), and no call or request of the pool's is in flight here. */
  protected override expectsNothing(): boolean {
    return this.answered && this.inflight.size === 0;
  }

  /**
   * Whether it is stuck in one synchronous call (see STALL_MS). Never while it holds no call:
   * the running word may still name the one whose last reply was just read, and a worker
   * thought stuck takes no call from the lines until the next event looks again.
   */
  isStalled(now: number): boolean {
    return this.calls > 0 && this.stalled(now, STALL_MS);
  }

  /** The stuck call this worker was first seen in, and its thread's wait for a CPU then. */
  private stuck: { tag: number; wait: number } | undefined;

  /**
   * How long the call running now has held this worker, less the time its thread has waited
   * for a CPU since it was first seen stuck (a preempted thread is not a long call).
   */
  heldMs(now: number): number {
    const tag = this.runningTag();
    const wall = this.runningFor(now);
    const wait = tag === 0 ? undefined : runQueueMs(this.osThreadId);
    if (wait === undefined) return wall;
    if (this.stuck?.tag !== tag) this.stuck = { tag, wait };
    return wall - (wait - this.stuck.wait);
  }

  /**
   * Whether a synchronous call may be waiting behind another here (more than one in flight):
   * then the pool watches for a stall. Async bodies do not hold the thread while they await.
   */
  queuesBehind(): boolean {
    return this.calls - this.asyncCalls > 1;
  }

  /** Whether a call for the shared lines may go here: not pinned-busy, held by no call alone. */
  takesShared(): boolean {
    return this.pinnedLine.length === 0 && this.exclusive === 0;
  }
}

/** What the placement tells the pool. */
export interface PlacementEvents {
  onReplies(worker: PoolWorker, replies: Reply[]): void;
  onExit(worker: PoolWorker, code: number): void;
  /** A call whose request could not be encoded: it must fail alone. */
  onUnsendable(call: Pending, err: unknown): void;
  /** May a worker be started now? undefined if so, else why not (a failed start, backing off). */
  mayStart(): boolean;
  /** `new Worker` itself threw (an option a worker cannot take). */
  onSpawnFailed(err: unknown): void;
}

type ResolvedOptions = PoolOptions & { readonly size: number; readonly concurrencyPerWorker: number };

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
  /** Counts the workers polling for a request now (see Spin in transport.ts). */
  private readonly spinners = new SharedArrayBuffer(4);
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Worker threads at most, the express worker aside. */
  readonly size: number;
  private readonly concurrency: number;
  private readonly options: ResolvedOptions;
  private readonly events: PlacementEvents;

  constructor(options: ResolvedOptions, events: PlacementEvents) {
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
    while (this.regular < this.size && this.spawn(false));
    if (this.policy.enabled) this.express ??= this.spawn(true);
  }

  /** Sends `call` to a worker now if one may take it; false when it must wait in line. */
  place(call: Pending): boolean {
    const instance = call.task!.instance;
    if (instance?.pinned) {
      const worker = this.pinFor(instance);
      if (!worker) return false;
      if (worker.pinnedLine.length === 0 && worker.calls < this.concurrency) this.dispatch(worker, call);
      else worker.pinnedLine.push(call);
      return true; // a pinned call waits in its worker's own line, never the shared ones
    }
    const worker =
      call.cls === 'short'
        ? this.workerForShort(call.task!.isAsync !== true)
        : this.mayStart(call, performance.now())
          ? this.workerForExclusive()
          : undefined;
    if (!worker) return false;
    this.dispatch(worker, call);
    return true;
  }

  /** Sends one of the pool's own requests to `worker`, outside every line. */
  sendControl(worker: PoolWorker, call: Pending, outgoing: Outgoing): void {
    worker.send(outgoing);
    call.seq = outgoing.request.seq;
    call.worker = worker;
    this.hold(worker, call);
  }

  /**
   * Fills `worker` up to its concurrency: its pinned line first, then waiting calls in the
   * order they came, short or long, so that no call waits for ever behind later ones. A call
   * that holds a worker alone ends the filling; a CPU-bound long call held back by the hold is
   * passed over (it waits for the hold, not for the calls behind it).
   */
  pump(worker: PoolWorker): void {
    while (worker.pinnedLine.length > 0 && worker.calls < this.concurrency)
      this.dispatch(worker, worker.pinnedLine.shift()!);
    if (!worker.ready || !worker.takesShared() || this.lines.size === 0 || worker.isStalled(Date.now())) return;
    const now = performance.now();
    const { short, long } = this.lines;
    while (worker.calls < this.concurrency) {
      const s = short.peek();
      const l = worker.express ? undefined : long.peek();
      if (l && (!s || l.enqueuedAt <= s.enqueuedAt) && this.mayStart(l, now)) {
        long.shift();
        if (l.cls === 'doubtful' && l.onChunk === undefined) l.cls = this.policy.classify(l.task!.profile);
        this.dispatch(worker, l);
        if (!worker.takesShared()) break;
        continue;
      }
      if (!s || (worker.express && s.task?.isAsync)) break;
      this.dispatch(worker, short.shift()!);
    }
    if (this.lines.size > 0) this.grow(); // calls still wait: one more worker, if the pool may grow
  }

  /** Places waiting calls after a change of capacity (a worker went away, a hold lifted). */
  pumpAll(): void {
    for (const w of this.workers) this.pump(w);
    if (this.hasPlaceable()) this.grow(); // it takes from the lines once it has started
  }

  /** Marks `call` as no longer held by its worker (its reply came, or it was taken back). */
  unhold(worker: PoolWorker, call: Pending): void {
    if (worker.inflight.delete(call.seq) && call.task) {
      worker.calls--;
      if (call.task.isAsync) worker.asyncCalls--;
    }
    this.release(worker, call);
    if (call.slot >= 0) {
      worker.freeSlot(call.slot);
      call.slot = -1;
    }
    if (worker.inflight.size === 0) worker.worker.unref();
  }

  /**
   * A stream whose worker has sent all the items its reader has room for: its generator is
   * suspended and needs no thread, so the worker takes other calls until the reader asks for more.
   */
  park(call: Pending): void {
    if (!call.holding || !call.worker) return;
    this.release(call.worker, call);
    this.pump(call.worker);
  }

  /** The reader of a parked stream asked for more: its generator runs again. */
  unpark(call: Pending): void {
    if (call.holding || !call.worker || call.settled) return;
    call.holding = true;
    call.worker.exclusive++;
    if (this.isHeld(call)) call.worker.held++;
  }

  /**
   * Adds a finished call to its function's profile. If the function has just proved short, its
   * calls that wait in the long line (placed as doubtful or long when made) move to the short
   * line, in arrival order, where a worker running short calls (the express one too) takes them
   * rather than the next long call to free up. Returns whether any moved.
   */
  record(profile: CallProfile, runMs: number, cpuMs: number | undefined): boolean {
    const wasShort = this.lines.long.size === 0 || this.policy.classify(profile) === 'short';
    profile.record(runMs, cpuMs);
    return !wasShort && this.policy.classify(profile) === 'short' && this.provedShort(profile);
  }

  /** Streams stay in the long line: they hold their worker whatever the function. */
  private provedShort(profile: CallProfile): boolean {
    const moved = this.lines.long.extract((c) => c.task?.profile === profile && c.onChunk === undefined);
    for (const call of moved) {
      call.cls = 'short';
      call.cpuBound = false;
      this.lines.short.insert(call, (waiting) => waiting.enqueuedAt > call.enqueuedAt);
    }
    if (moved.length === 0) return false;
    this.policy.shortArrived(performance.now()); // short calls wait: the hold on long calls applies
    return true;
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

  /**
   * Revokes the calls `worker` holds that it has not started and that `which` selects, in the
   * order they were sent, so that they never run there; the caller places them again (or
   * settles them). Calls the worker claimed first stay.
   */
  takeBack(worker: PoolWorker, which: (call: Pending) => boolean): Pending[] {
    const taken: Pending[] = [];
    for (const call of worker.inflight.values()) {
      if (call.task && !call.settled && which(call) && worker.revoke(call.slot, call.seq)) taken.push(call);
    }
    for (const call of taken) {
      this.unhold(worker, call);
      call.worker = undefined;
    }
    return taken;
  }

  /** Takes `worker` out of the pool; the pool then accounts for the calls it held. */
  retire(worker: PoolWorker): void {
    worker.retired = true;
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
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

  /** Every call waiting in a line (shared or pinned). */
  *waiting(): Generator<Pending> {
    yield* this.lines.short.waiting();
    yield* this.lines.long.waiting();
    for (const w of this.workers) yield* w.pinnedLine;
  }

  /** Every call waiting in a line (shared or pinned), taken out of it. */
  drainLines(): Pending[] {
    const waiting = this.lines.takeAll();
    for (const w of this.workers) waiting.push(...w.pinnedLine.splice(0));
    return waiting;
  }

  // ---- choosing a worker ----------------------------------------------------------------

  private spawn(express: boolean): PoolWorker | undefined {
    if (!this.events.mayStart()) return undefined;
    let worker: PoolWorker;
    try {
      worker = new PoolWorker(this.nextIndex++, express, this.options, this.epoch, this.spinners, (replies) =>
        this.events.onReplies(worker, replies),
      );
    } catch (err) {
      this.events.onSpawnFailed(err);
      return undefined;
    }
    worker.worker.on('error', (err) => (worker.lastError = err));
    worker.worker.on('exit', (code) => this.events.onExit(worker, code));
    if (workerStartChannel.hasSubscribers) workerStartChannel.publish({ name: worker.name, express });
    this.workers.push(worker);
    if (express) this.express = worker;
    else this.regular++;
    return worker;
  }

  /**
   * A worker for a short call: an idle one, else the least busy of those running short calls
   * only (a short call behind short calls waits less than a new worker takes to start), else the
   * express worker. None: it waits in line (and a new worker starts if the pool may grow): a
   * worker takes calls once it has started, which takes tens of ms, more on a busy machine.
   */
  private workerForShort(expressOk: boolean): PoolWorker | undefined {
    const best = this.leastBusy();
    if (best?.inflight.size !== 0) this.grow(); // no idle worker: one more for the calls to come
    if (best) return best;
    // The express worker is for when the regular workers serve but each holds a long call (and
    // for synchronous calls only: an async body's awaits would hold up its event loop).
    if (expressOk && this.policy.enabled && this.workers.some((w) => !w.express && w.ready)) {
      const express = this.express ?? this.starting(this.spawn(true));
      if (express?.ready && express.calls < this.concurrency && !express.isStalled(Date.now())) return express;
    }
    return undefined;
  }

  /**
   * A worker for a call that holds its worker alone: an idle one, else one behind short calls
   * (they finish soon); the pool grows meanwhile, if it may, for the next ones.
   */
  private workerForExclusive(): PoolWorker | undefined {
    const best = this.leastBusy();
    if (best?.inflight.size !== 0) this.grow();
    return best;
  }

  /** Starts one more regular worker, if the pool may have one and none is starting already. */
  private grow(): void {
    if (this.regular < this.size && !this.workers.some((w) => !w.express && !w.ready)) this.starting(this.spawn(false));
  }

  /**
   * A worker started for calls that wait: it keeps the process alive until it has started and
   * taken them (see `answered`), as a worker holding calls does.
   */
  private starting(worker: PoolWorker | undefined): PoolWorker | undefined {
    worker?.worker.ref();
    return worker;
  }

  /** A worker's first answer: it has started, so the calls waiting may go to it. */
  answered(worker: PoolWorker): void {
    this.pump(worker);
    if (worker.inflight.size === 0) worker.worker.unref();
  }

  /**
   * The started regular worker with the fewest calls among those that hold no call alone and
   * have room; an idle one at once. Stalled workers on the way give back their waiting calls.
   */
  private leastBusy(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    let now = 0;
    for (const w of this.workers) {
      if (w.express || !w.ready || !w.takesShared() || w.calls >= this.concurrency) continue;
      if (w.inflight.size === 0) return w;
      if (w.isStalled((now ||= Date.now()))) {
        this.unstall(w);
        continue;
      }
      if (!best || w.inflight.size < best.inflight.size) best = w;
    }
    return best;
  }

  /** The worker a pinned instance keeps to, chosen (or moved, if its worker died) now if need be. */
  pinFor(instance: InstanceRef): PoolWorker | undefined {
    let worker = this.pins.get(instance);
    if (!worker || worker.retired) {
      const regular = this.workers.filter((w) => !w.express);
      worker = this.regular < this.size ? this.spawn(false) : regular[this.pinRotation++ % regular.length];
      if (!worker) return undefined;
      this.pins.set(instance, worker);
    }
    return worker;
  }

  /** Forgets the worker a released instance was pinned to. */
  unpin(instance: InstanceRef): void {
    this.pins.delete(instance);
  }

  // ---- the hold on long calls -----------------------------------------------------------

  private isHeld(call: Pending): boolean {
    return call.cls !== 'short' && call.cpuBound;
  }

  /** Whether `call` may start at `now`, as far as the hold on long calls goes. */
  private longAllowed(call: Pending, now: number): boolean {
    if (!this.isHeld(call)) return true;
    let running = 0;
    for (const w of this.workers) running += w.held;
    return running < this.policy.longLimit(now);
  }

  /** Whether `call` may start now; if the hold forbids it, looks again when it lifts. */
  private mayStart(call: Pending, now: number): boolean {
    if (this.longAllowed(call, now)) return true;
    if (heldChannel.hasSubscribers) heldChannel.publish({ name: call.label, waitingMs: now - call.enqueuedAt });
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
    return this.lines.short.size > 0 || (first !== undefined && this.mayStart(first, performance.now()));
  }

  // ---- sending and taking back ----------------------------------------------------------

  private hold(worker: PoolWorker, call: Pending): void {
    if (worker.inflight.size === 0) worker.worker.ref(); // a call in flight keeps the process alive
    worker.inflight.set(call.seq, call);
    if (!call.task) return;
    worker.calls++;
    if (call.task.isAsync) worker.asyncCalls++;
    if (call.cls === 'short') return;
    call.holding = true;
    worker.exclusive++;
    if (this.isHeld(call)) worker.held++;
  }

  /** Stops counting `call` as holding `worker` alone. */
  private release(worker: PoolWorker, call: Pending): void {
    if (!call.holding) return;
    call.holding = false;
    worker.exclusive--;
    if (this.isHeld(call)) worker.held--;
  }

  /** Sends `call` to `worker`; a call that cannot be encoded (which the check let pass) fails alone. */
  private dispatch(worker: PoolWorker, call: Pending): void {
    const task = call.task!;
    const seq = worker.nextSeq;
    const slot = worker.takeSlot(seq);
    // CPU time is measured where it may matter: calls of long or unknown functions (the worker
    // also sends the replies it owes before it starts one of those).
    const mayBeLong = call.cls !== 'short' || this.policy.mayBeLong(task.profile);
    const outgoing = worker.callRequest(task, mayBeLong, slot, call.span?.carrier);
    try {
      worker.send(outgoing, { transfer: task.options?.transfer });
    } catch (err) {
      worker.freeSlot(slot);
      this.events.onUnsendable(call, err);
      return;
    }
    call.seq = seq;
    call.slot = slot;
    call.worker = worker;
    this.hold(worker, call);
    if (worker.express) this.expressCalls++;
    // Sent behind another call: look again once that one could count as stalled.
    if (worker.queuesBehind()) this.rebalanceTimer ??= setTimeout(this.rebalance, STALL_MS + 1).unref();
  }

  /** Takes unstarted calls back from stalled workers and gives them to free ones. */
  private readonly rebalance = (): void => {
    this.rebalanceTimer = undefined;
    const now = Date.now();
    let waiting = false;
    for (const w of this.workers) {
      if (w.isStalled(now)) this.unstall(w);
      else if (w.queuesBehind()) waiting = true; // may stall later: keep watching
    }
    this.pumpAll();
    if (waiting) this.rebalanceTimer = setTimeout(this.rebalance, STALL_MS + 1).unref();
  };

  /**
   * A worker stuck in one synchronous call: the calls waiting behind it there go back to the
   * front of their lines (pinned ones stay: they must run there, in order), and once it is
   * stuck long enough its function is doubtful (its next calls hold a worker alone).
   */
  private unstall(worker: PoolWorker): void {
    // A thread preempted on a busy machine looks stuck for a time slice or two: only a call
    // stuck well past that casts doubt on its function.
    if (worker.heldMs(Date.now()) >= this.policy.doubtMs) {
      const tag = worker.runningTag();
      for (const call of worker.inflight.values()) {
        if (call.task && tagOf(call.seq) === tag) call.task.profile.stalled = true;
      }
    }
    const taken = this.takeBack(worker, (call) => !call.task!.instance?.pinned);
    if (taken.length === 0) return;
    this.lines.pushFront(taken);
    this.rebalanceTimer ??= setTimeout(this.rebalance, 0).unref();
  }
}
