/**
 * The worker pool: what happens to a call from `run()` to its settling. A bounded wait,
 * per-call abort and timeout, exact accounting when a worker dies, warm start, graceful close
 * and statistics. Where and when each call runs is placement.ts's business; the transport
 * carries the messages, the worker runs them.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { restoreBuffers } from '../wire/values.ts';
import { decodeThrown, type ThrownData } from '../wire/thrown.ts';
import type { Reply, StreamChunk } from '../wire/protocol.ts';
import { allRegistrations, unfindableReason, type Registration } from '../registry/registry.ts';
import { CallAbortedError, CallTimeoutError, PoolClosedError, QueueFullError, WorkerCrashedError } from '../errors.ts';
import type { DurationStats, HeadOfLineOptions, PoolOptions, PoolStats } from '../types.ts';
import { Placement, type Pending, type PoolWorker } from './placement.ts';
import { instanceRefOf, unsendable, type InstanceRef, type Task } from './task.ts';
import type { Outgoing } from './worker-link.ts';
import { ItemStream, STREAM_WINDOW } from './stream.ts';

export type { InstanceRef, Task } from './task.ts';

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
    return {
      count: this.count,
      totalMs: this.totalMs,
      meanMs: this.count ? this.totalMs / this.count : 0,
      maxMs: this.maxMs,
    };
  }
}

/** A pool of worker threads that runs registered code. */
export class Pool {
  private readonly maxQueue: number;
  private readonly placement: Placement;
  private closing = false;
  private drained: (() => void) | undefined;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private readonly waitTime = new Durations();
  private readonly runTime = new Durations();

  constructor(options: PoolOptions = {}) {
    validateOptions(options);
    this.maxQueue = options.maxQueue ?? 10_000;
    const resolved = {
      ...options,
      size: options.size ?? Math.max(1, os.availableParallelism()),
      concurrencyPerWorker: options.concurrencyPerWorker ?? 32,
    };
    this.placement = new Placement(resolved, {
      onReplies: (worker, replies) => this.onReplies(worker, replies),
      onExit: (worker, code) => this.onExit(worker, code),
      onUnsendable: (call, err) => this.settle(call, false, unsendable(call.task!, err)),
    });
  }

  /** Runs `task` on a worker. */
  run(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => this.submit(task, resolve, reject));
  }

  /**
   * Runs `task` (a generator) on a worker and streams its items back: the worker runs at most
   * `STREAM_WINDOW` items ahead of the reader. The stream holds its worker, as a long call does.
   */
  stream<T, R>(task: Task): ItemStream<T, R> {
    const items: ItemStream<T, R> = new ItemStream((op, credit) => this.signalStream(call, op, credit));
    const call = this.submit(
      { ...task, stream: STREAM_WINDOW },
      (last) => items.finish((last as StreamChunk).items, (last as StreamChunk).returned),
      (err) => items.fail(err),
      (chunk) => items.push(chunk.items),
    );
    return items;
  }

  /** Places a call (or queues it), with its timeout and abort signal armed; undefined if refused. */
  private submit(
    task: Task,
    resolve: (value: unknown) => void,
    reject: (err: unknown) => void,
    onChunk?: (chunk: StreamChunk) => void,
  ): Pending | undefined {
    if (this.closing) return void reject(new PoolClosedError(task.label));
    const signal = task.options?.signal;
    if (signal?.aborted) return void reject(new CallAbortedError(task.label, signal.reason));
    const now = performance.now();
    const { policy } = this.placement;
    // A stream holds its worker for its life: a long call, whatever its profile says so far.
    const long = onChunk !== undefined || policy.isLong(task.profile);
    if (!long && !task.instance?.pinned) policy.shortArrived(now);
    const cpuBound = long && policy.isCpuBound(task.profile);
    const call: Pending = {
      label: task.label,
      task,
      resolve,
      reject,
      onChunk,
      enqueuedAt: now,
      long,
      cpuBound,
      okOnCrash: false,
      seq: 0,
      settled: false,
    };
    if (!this.placement.place(call)) {
      if (this.placement.lines.size >= this.maxQueue) return void reject(new QueueFullError(task.label, this.maxQueue));
      this.placement.lines.push(call);
    }
    this.watch(call);
    return call;
  }

  /** The reader of a stream has room for more items, or stopped reading. */
  private signalStream(call: Pending | undefined, op: 'pull' | 'cancel', credit = 0): void {
    if (!call || call.settled) return;
    const worker = call.worker;
    if (op === 'pull') return worker?.signal({ op, seq: call.seq, credit });
    if (worker?.started(call.seq)) return worker.signal({ op, seq: call.seq }); // its last reply settles it
    // Not started yet: it never will.
    this.settle(call, true, { items: [] } satisfies StreamChunk);
    if (worker) this.placement.steal(worker);
    else this.placement.remove(call);
    this.checkDrained();
  }

  /** Arms the call's timeout and abort signal, if it has them and is still unsettled. */
  private watch(call: Pending): void {
    const options = call.task!.options;
    if (call.settled || !options) return;
    if (options.timeout !== undefined) call.timer = setTimeout(() => this.cancel(call, 'timeout'), options.timeout);
    if (options.signal) {
      call.onAbort = () => this.cancel(call, 'abort');
      options.signal.addEventListener('abort', call.onAbort, { once: true });
    }
  }

  /**
   * Drops the worker replicas of `instance` (each is disposed in its worker). Resolves when
   * every worker holding one has done so.
   */
  async release(instance: InstanceRef): Promise<void> {
    const holders = this.placement.workers.filter((w) => w.replicas.has(instance.id));
    const label = `release of ${instance.label}`;
    await Promise.all(holders.map((w) => this.control(w, label, true, w.releaseRequest(instance.id))));
    this.placement.unpin(instance);
  }

  /** See `Pool.warm` in types.ts. */
  async warm(...instances: object[]): Promise<void> {
    if (this.closing) throw new PoolClosedError('warm()');
    const refs = instances.map((x, i) => {
      const ref = instanceRefOf(x);
      if (!ref)
        throw new TypeError(
          `smartasync: warm() expects instances of smartasync(Class) or @offloadable classes; argument ${i} is not one.`,
        );
      return ref;
    });
    this.placement.startAll();
    const targets = allRegistrations().filter((r) => r.kind !== 'error' && !unfindableReason(r));
    const work: Promise<unknown>[] = [];
    const { workers } = this.placement;
    for (const worker of workers) for (const reg of targets) work.push(this.prepare(worker, reg, undefined));
    for (const ref of refs) {
      for (const worker of ref.pinned ? [this.placement.pinFor(ref)] : workers)
        work.push(this.prepare(worker, ref.reg, ref));
    }
    await Promise.all(work);
  }

  private prepare(worker: PoolWorker, reg: Registration, ref: InstanceRef | undefined): Promise<unknown> {
    return this.control(worker, `warm-up of ${ref?.label ?? reg.label}`, false, worker.prepareRequest(reg, ref));
  }

  /** Sends one of the pool's own requests to `worker`; settles with its reply. */
  private control(worker: PoolWorker, label: string, okOnCrash: boolean, outgoing: Outgoing): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const call: Pending = {
        label,
        task: undefined,
        resolve,
        reject,
        enqueuedAt: now,
        long: false,
        cpuBound: false,
        okOnCrash,
        seq: 0,
        settled: false,
      };
      this.placement.sendControl(worker, call, outgoing);
    });
  }

  /** A snapshot of the pool's state and running totals. */
  stats(): PoolStats {
    let running = 0;
    let idle = 0;
    let pinned = 0;
    for (const w of this.placement.workers) {
      running += w.inflight.size;
      pinned += w.pinnedLine.length;
      if (w.inflight.size === 0) idle++;
    }
    return {
      workers: this.placement.workers.length,
      idleWorkers: idle,
      queued: this.placement.lines.size + pinned,
      running,
      completed: this.completed,
      failed: this.failed,
      crashedWorkers: this.crashed,
      waitTime: this.waitTime.snapshot(),
      runTime: this.runTime.snapshot(),
      heldBack: this.placement.heldBack(),
      expressCalls: this.placement.expressCalls,
    };
  }

  /** Worker threads at most (the express worker aside). */
  get size(): number {
    return this.placement.size;
  }

  /** Whether any worker was ever started. */
  get started(): boolean {
    return this.placement.started;
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
    this.placement.stop();
    await Promise.all(
      [...this.placement.workers].map((worker) => {
        worker.stopping = true;
        this.placement.retire(worker);
        worker.channel.close();
        return worker.worker.terminate();
      }),
    );
  }

  private checkDrained(): void {
    const idle = this.placement.workers.every((w) => w.inflight.size === 0 && w.pinnedLine.length === 0);
    if (this.drained && this.placement.lines.size === 0 && idle) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }

  // ---- settling -------------------------------------------------------------------------

  private onReplies(worker: PoolWorker, replies: Reply[]): void {
    const now = performance.now();
    for (const reply of replies) {
      const call = worker.inflight.get(reply.seq);
      if (!call) continue;
      if (reply.more) {
        if (!call.settled) call.onChunk?.(restoreBuffers(reply.value, reply.buffers) as StreamChunk);
        continue; // a chunk of a stream: its last reply is still to come
      }
      this.placement.unhold(worker, call);
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
    if (!worker.retired) this.placement.pump(worker);
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
    const worker = call.worker;
    const running = worker !== undefined && worker.running(call.seq);
    const { label, options } = call.task!;
    const err =
      why === 'timeout'
        ? new CallTimeoutError(label, options!.timeout!, running)
        : new CallAbortedError(label, options?.signal?.reason);
    if (!worker) {
      this.placement.remove(call); // still waiting: it never reached a worker
      this.settle(call, false, err);
      this.checkDrained();
      return;
    }
    this.settle(call, false, err);
    // Synchronous code cannot be interrupted: end the worker. Calls it held that had not
    // started go back in line; any that had started cannot be finished and fail.
    if (running) this.stopWorker(worker, label);
    // Sent but not started: take it back (with the calls behind it, which go back in line),
    // so that it never runs. Place those calls now: if the worker had started none, nothing
    // in flight is left to wake the line (or to keep the process alive) when it replies.
    else if (!worker.started(call.seq)) {
      if (!call.task!.instance?.pinned) {
        this.placement.steal(worker);
        this.placement.pumpAll();
      }
    }
    // A stream between chunks: end its generator there, so that its `finally` runs.
    else if (call.onChunk) worker.signal({ op: 'cancel', seq: call.seq });
  }

  // ---- workers that end -----------------------------------------------------------------

  private stopWorker(worker: PoolWorker, reason: string): void {
    worker.stopping = true;
    this.retire(worker, `was terminated to stop ${reason}, which ran past its timeout or was aborted`);
    void worker.worker.terminate();
  }

  private onExit(worker: PoolWorker, code: number): void {
    if (worker.stopping || worker.retired) return;
    this.crashed++;
    const cause = worker.lastError;
    const detail = cause
      ? `died with an uncaught error (${cause.message})`
      : `exited with code ${code} (process.exit() in the worker, or a fatal error)`;
    this.retire(worker, detail, cause);
  }

  /**
   * Takes `worker` out of the pool, with exact accounting for the calls it held: replies the
   * worker wrote are delivered first; calls it never started go back in line (pinned ones to
   * their instance's new worker); only calls that started and did not finish fail, with a
   * WorkerCrashedError (`started`: it may have had effects) whose message ends with `detail`.
   */
  private retire(worker: PoolWorker, detail: string, cause?: Error): void {
    this.placement.retire(worker);
    worker.channel.drain(); // replies written before the end: delivered, not failed
    worker.channel.close();
    // No request numbered past this can start now: a worker still winding down finds them revoked.
    const claimed = worker.revokeUpTo(worker.nextSeq - 1);
    const again: Pending[] = [];
    for (const call of worker.inflight.values()) {
      if (call.settled) continue;
      const failure = () => new WorkerCrashedError(call.label, detail, cause ? { cause } : undefined);
      if (!call.task) this.settle(call, call.okOnCrash, call.okOnCrash ? undefined : failure());
      else if (call.seq <= claimed) this.settle(call, false, failure());
      else again.push(call);
    }
    worker.inflight.clear();
    worker.long = worker.cpuLong = 0;
    this.placement.replace([...again, ...worker.pinnedLine.splice(0)]);
    this.checkDrained();
  }
}

function validateOptions(options: PoolOptions): void {
  for (const name of ['size', 'maxQueue', 'concurrencyPerWorker'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new RangeError(
        `smartasync: pool option ${name} must be a whole number of at least 1, got ${String(value)}.`,
      );
    }
  }
  const hol = options.headOfLine;
  if (hol === undefined || typeof hol === 'boolean') return;
  if (typeof hol !== 'object' || hol === null) {
    throw new TypeError(
      `smartasync: pool option headOfLine must be true, false or an object of settings, got ${String(hol)}.`,
    );
  }
  for (const name of [
    'longCallMs',
    'holdMs',
    'reservedCores',
  ] as const satisfies readonly (keyof HeadOfLineOptions)[]) {
    const value = hol[name];
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new RangeError(
        `smartasync: headOfLine.${name} must be a finite number of at least 0, got ${String(value)}.`,
      );
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

/** The Node options `configure()` set for workers, which the sync bridge's worker takes too. */
export function configuredExecArgv(): string[] | undefined {
  return defaultOptions.execArgv;
}

/**
 * The default pool that wrapped functions and classes use; created on first use. Once
 * closed it stays closed (calls are refused) until `configure()` sets up a new one.
 */
export function getPool(): Pool {
  defaultPool ??= new Pool(defaultOptions);
  return defaultPool;
}
