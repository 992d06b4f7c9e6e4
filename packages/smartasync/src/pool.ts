/**
 * The worker pool: persistent workers created on demand, a bounded queue, per-call abort and
 * timeout, crash recovery and graceful close. It decides where a call runs and when; the
 * transport carries the messages, the worker runs them.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Channel, createChannelEnds } from './transport.ts';
import { WorkerLink } from './worker-link.ts';
import { restoreBuffers, type CloneReport } from './clone.ts';
import {
  CallAbortedError,
  CallTimeoutError,
  PoolClosedError,
  QueueFullError,
  WorkerCrashedError,
  decodeThrown,
  type ThrownData,
} from './errors.ts';
import type { Registration } from './registry.ts';
import { workerScript } from './environment.ts';
import { CTRL_CLAIMED, CTRL_RUNNING, CTRL_SINCE, CTRL_WORDS, MARK, type Reply, type Request, type WorkerBoot } from './protocol.ts';
import type { CallOptions, DurationStats, PoolOptions, PoolStats } from './types.ts';

/** An instance whose methods run on worker replicas. Owned by the API layer, placed by the pool. */
export interface InstanceRef {
  readonly id: number;
  readonly label: string;
  readonly ctorArgs: unknown[];
  /** undefined when the constructor arguments are plain JSON data. */
  readonly ctorReport: CloneReport | undefined;
  readonly pinned: boolean;
  /** For pinned instances: the worker it keeps to, once chosen. */
  slot?: WorkerSlot;
}

/** One call as the pool sees it. */
export interface Task {
  readonly reg: Registration;
  /** For messages: `hash()`, `UserRepo#find()`. */
  readonly label: string;
  readonly args: unknown[];
  /** undefined when the arguments are plain JSON data. */
  readonly argsReport: CloneReport | undefined;
  readonly instance?: InstanceRef;
  readonly method?: string;
  readonly options?: CallOptions;
  /** Holds the caller's stack (formatted only if an error needs it). */
  readonly caller?: { readonly stack?: string };
  /** Told how long the call ran on the worker (the `offload: 'auto'` policy learns from it). */
  readonly onRunTime?: (ms: number) => void;
  /** Settle with the result as JSON text made on the worker (`f.json()`). */
  readonly resultAsJson?: boolean;
  /** Told which replica fields a method changed; asks the worker to watch. */
  readonly onChanged?: (fields: string[]) => void;
}

interface Pending {
  readonly task: Task;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  readonly enqueuedAt: number;
  /** Release requests are bookkeeping, not calls: no stats. */
  readonly control: boolean;
  seq: number;
  slot?: WorkerSlot;
  settled: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

class WorkerSlot {
  readonly worker: Worker;
  readonly channel: Channel<Request, Reply>;
  readonly ctrl: Int32Array;
  readonly inflight = new Map<number, Pending>();
  readonly link = new WorkerLink();
  readonly pinnedQueue: Pending[] = [];
  /** Exit was asked for (close, or to stop a running call): not a crash. */
  stopping = false;
  /** Taken out of the pool (stopped or dead): instances pinned to it must move. */
  retired = false;
  lastError: Error | undefined;

  readonly index: number;

  private readonly epoch: number;

  constructor(index: number, options: PoolOptions, epoch: number, onReplies: (slot: WorkerSlot, replies: Reply[]) => void) {
    this.index = index;
    this.epoch = epoch;
    const ctrl = new SharedArrayBuffer(CTRL_WORDS * 4);
    this.ctrl = new Int32Array(ctrl);
    const { port1, port2 } = new MessageChannel();
    const ends = createChannelEnds(port1, port2);
    const boot: WorkerBoot = { role: 'pool', ctrl, epoch, channel: ends.there };
    this.worker = new Worker(workerScript, {
      workerData: { [MARK]: boot },
      transferList: [port2],
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
      name: `smartasync-${index}`,
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
}

/**
 * A worker inside one synchronous call for this long (a report, a big query) takes no new
 * calls, and calls already sent to it that have not started are taken back: they would wait
 * behind it while other workers are free.
 */
const STALL_MS = 2;

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
  private readonly slots: WorkerSlot[] = [];
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private queued = 0;
  private nextSlotIndex = 1;
  private pinRotation = 0;
  private readonly epoch = Date.now();
  private closing = false;
  private drained: (() => void) | undefined;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private readonly waitTime = new Durations();
  private readonly runTime = new Durations();

  constructor(options: PoolOptions = {}) {
    validateOptions(options);
    this.options = {
      ...options,
      size: options.size ?? Math.max(1, os.availableParallelism()),
      maxQueue: options.maxQueue ?? 10_000,
      concurrencyPerWorker: options.concurrencyPerWorker ?? 32,
    };
  }

  /** Runs `task` on a worker. */
  run(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new PoolClosedError(task.label));
      const signal = task.options?.signal;
      if (signal?.aborted) return reject(new CallAbortedError(task.label, signal.reason));
      const call: Pending = { task, resolve, reject, enqueuedAt: performance.now(), control: false, seq: 0, settled: false };
      if (!this.place(call)) {
        if (this.queued >= this.options.maxQueue) return reject(new QueueFullError(task.label, this.options.maxQueue));
        this.enqueue(call);
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
    const holders = this.slots.filter((s) => s.link.replicas.has(instance.id));
    await Promise.all(
      holders.map(
        (slot) =>
          new Promise((resolve, reject) => {
            slot.link.replicas.delete(instance.id);
            const call: Pending = {
              task: { reg: undefined as never, label: `release of ${instance.label}`, args: [], argsReport: undefined },
              resolve,
              reject,
              enqueuedAt: performance.now(),
              control: true,
              seq: slot.link.nextSeq++,
              slot,
              settled: false,
            };
            this.hold(slot, call);
            slot.channel.send({ op: 'release', seq: call.seq, instance: instance.id }, { json: true });
          }),
      ),
    );
    instance.slot = undefined;
  }

  /** A snapshot of the pool's state and running totals. */
  stats(): PoolStats {
    let running = 0;
    let idle = 0;
    for (const s of this.slots) {
      running += s.inflight.size;
      if (s.inflight.size === 0) idle++;
    }
    return {
      workers: this.slots.length,
      idleWorkers: idle,
      queued: this.queued + this.slots.reduce((n, s) => n + s.pinnedQueue.length, 0),
      running,
      completed: this.completed,
      failed: this.failed,
      crashedWorkers: this.crashed,
      waitTime: this.waitTime.snapshot(),
      runTime: this.runTime.snapshot(),
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
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        slot.stopping = true;
        slot.retired = true;
        slot.channel.close();
        return slot.worker.terminate();
      }),
    );
  }

  // ---- placement ------------------------------------------------------------------------

  private spawn(): WorkerSlot {
    const slot = new WorkerSlot(this.nextSlotIndex++, this.options, this.epoch, (s, replies) => this.onReplies(s, replies));
    slot.worker.on('error', (err) => (slot.lastError = err));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    this.slots.push(slot);
    return slot;
  }

  /** Sends `call` to a worker now if one has room; false when it must wait. */
  private place(call: Pending): boolean {
    const instance = call.task.instance;
    if (instance?.pinned) {
      if (!instance.slot || instance.slot.retired) instance.slot = this.pinTarget();
      const slot = instance.slot;
      if (slot.pinnedQueue.length === 0 && slot.inflight.size < this.options.concurrencyPerWorker) {
        this.dispatch(slot, call);
      } else {
        slot.pinnedQueue.push(call);
      }
      return true; // a pinned call waits in its worker's own line, never the shared queue
    }
    let best: WorkerSlot | undefined;
    let now = 0;
    for (const s of this.slots) {
      if (s.pinnedQueue.length > 0) continue;
      if (s.inflight.size === 0) {
        best = s;
        break;
      }
      if (s.stalled((now ||= Date.now()))) {
        this.steal(s);
        continue;
      }
      if (s.inflight.size < this.options.concurrencyPerWorker && (!best || s.inflight.size < best.inflight.size)) best = s;
    }
    if ((!best || best.inflight.size > 0) && this.slots.length < this.options.size) best = this.spawn();
    if (!best) return false;
    this.dispatch(best, call);
    // Sent behind a running call: look again once that call could count as stalled.
    if (best.inflight.size > 1) this.rebalanceTimer ??= setTimeout(this.rebalance, STALL_MS + 1).unref();
    return true;
  }

  private rebalanceTimer: NodeJS.Timeout | undefined;

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
   * Pinned calls and release requests stay: they must run there, in order.
   */
  private steal(slot: WorkerSlot): void {
    let last = slot.link.nextSeq - 1;
    for (const [seq, call] of slot.inflight) {
      if (seq <= last && (call.control || call.task.instance?.pinned)) last = Math.min(last, seq - 1);
    }
    let claimed = Atomics.load(slot.ctrl, CTRL_CLAIMED);
    while (claimed < last) {
      const seen = Atomics.compareExchange(slot.ctrl, CTRL_CLAIMED, claimed, last);
      if (seen === claimed) break;
      claimed = seen; // the worker claimed one meanwhile: revoke the rest
    }
    if (claimed >= last) return;
    const taken: Pending[] = [];
    for (const [seq, call] of slot.inflight) {
      if (seq > claimed && seq <= last) taken.push(call);
    }
    for (const call of taken) {
      this.unhold(slot, call);
      call.slot = undefined;
    }
    this.queue.splice(this.queueHead, 0, ...taken);
    this.queued += taken.length;
    this.rebalanceTimer ??= setTimeout(this.rebalance, 0).unref();
  }

  private pinTarget(): WorkerSlot {
    if (this.slots.length < this.options.size) return this.spawn();
    return this.slots[this.pinRotation++ % this.slots.length]!;
  }

  private enqueue(call: Pending): void {
    this.queue.push(call);
    this.queued++;
  }

  private dequeue(): Pending | undefined {
    while (this.queueHead < this.queue.length) {
      const call = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as never;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (!call.settled) {
        this.queued--;
        return call;
      }
    }
    return undefined;
  }

  private hold(slot: WorkerSlot, call: Pending): void {
    if (slot.inflight.size === 0) slot.worker.ref(); // a call in flight keeps the process alive
    slot.inflight.set(call.seq, call);
  }

  private dispatch(slot: WorkerSlot, call: Pending): void {
    call.slot = slot;
    call.seq = slot.link.nextSeq++;
    this.hold(slot, call);
    const { request, json } = slot.link.callRequest(call.task, call.seq);
    slot.channel.send(request, { transfer: call.task.options?.transfer, json });
  }


  /** Fills `slot` up to its concurrency: its pinned line first, then the shared queue. */
  private pump(slot: WorkerSlot): void {
    if (this.queued > 0 && slot.pinnedQueue.length === 0 && slot.stalled(Date.now())) return;
    while (slot.inflight.size < this.options.concurrencyPerWorker) {
      const next = slot.pinnedQueue.shift() ?? this.dequeue();
      if (!next) break;
      if (next.settled) continue;
      this.dispatch(slot, next);
    }
  }

  /** Places queued calls after a worker went away (or on any change of capacity). */
  private pumpAll(): void {
    for (const s of this.slots) this.pump(s);
    while (this.queued > 0 && this.slots.length < this.options.size) this.pump(this.spawn());
    this.checkDrained();
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
      if (!call.control) {
        this.runTime.add(reply.runMs);
        this.waitTime.add(Math.max(0, now - call.enqueuedAt - reply.runMs));
      }
      if (reply.changedFields) call.task.onChanged?.(reply.changedFields);
      call.task.onRunTime?.(reply.runMs);
      if (reply.ok) this.settle(call, undefined, restoreBuffers(reply.value, reply.buffers));
      else this.settle(call, decodeThrown(reply.value as ThrownData, call.task.caller?.stack));
    }
    this.pump(slot);
    this.checkDrained();
  }

  private unhold(slot: WorkerSlot, call: Pending): void {
    slot.inflight.delete(call.seq);
    if (slot.inflight.size === 0) slot.worker.unref();
  }

  private settle(call: Pending, err: unknown, value?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer) clearTimeout(call.timer);
    if (call.onAbort) call.task.options?.signal?.removeEventListener('abort', call.onAbort);
    if (!call.control) {
      if (err === undefined) this.completed++;
      else this.failed++;
    }
    if (err === undefined) call.resolve(value);
    else call.reject(err);
  }

  private cancel(call: Pending, why: 'abort' | 'timeout'): void {
    if (call.settled) return;
    const slot = call.slot;
    const running = slot !== undefined && slot.running(call.seq);
    const { label, options } = call.task;
    const err = why === 'timeout' ? new CallTimeoutError(label, options!.timeout!, running) : new CallAbortedError(label, options?.signal?.reason);
    if (!slot) {
      // Still waiting: take it out of its line; it never reached a worker.
      const pinnedLine = call.task.instance?.slot?.pinnedQueue;
      const at = pinnedLine ? pinnedLine.indexOf(call) : -1;
      if (at >= 0) pinnedLine!.splice(at, 1);
      else this.removeFromQueue(call);
      this.settle(call, err);
      this.checkDrained();
      return;
    }
    this.settle(call, err);
    // Synchronous code cannot be interrupted: end the worker. Calls it held that had not
    // started go back in line; any that had started cannot be finished and fail.
    if (running) this.stopWorker(slot, label);
  }

  private removeFromQueue(call: Pending): void {
    const at = this.queue.indexOf(call, this.queueHead);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.queued--;
    }
  }

  private stopWorker(slot: WorkerSlot, reason: string): void {
    slot.stopping = true;
    this.retire(slot, (call) =>
      slot.started(call.seq)
        ? new WorkerCrashedError(call.task.label, `was terminated to stop ${reason}, which ran past its timeout or was aborted`)
        : undefined,
    );
    void slot.worker.terminate();
  }

  private onExit(slot: WorkerSlot, code: number): void {
    if (slot.stopping || !this.slots.includes(slot)) return;
    this.crashed++;
    const cause = slot.lastError;
    const detail = cause
      ? `died with an uncaught error (${cause.message})`
      : `exited with code ${code} (process.exit() in the worker, or a fatal error)`;
    this.retire(slot, (call) => new WorkerCrashedError(call.task.label, detail, cause ? { cause } : undefined));
  }

  /**
   * Takes `slot` out of the pool. For each call it held, `failure` says how it fails, or
   * undefined to put it back in line. Pinned instances move to another worker.
   */
  private retire(slot: WorkerSlot, failure: (call: Pending) => Error | undefined): void {
    slot.retired = true;
    slot.channel.close();
    this.slots.splice(this.slots.indexOf(slot), 1);
    const requeue: Pending[] = [];
    for (const call of slot.inflight.values()) {
      if (call.settled) continue;
      const err = call.control ? undefined : failure(call);
      if (call.control) this.settle(call, undefined); // its replica is gone with the worker
      else if (err) this.settle(call, err);
      else requeue.push(call);
    }
    slot.inflight.clear();
    for (const call of [...requeue, ...slot.pinnedQueue]) {
      call.slot = undefined;
      if (!this.place(call)) {
        this.queue.splice(this.queueHead, 0, call);
        this.queued++;
      }
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
