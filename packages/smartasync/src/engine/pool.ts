/**
 * The worker pool: what happens to a call from `run()` to its settling. A bounded wait,
 * per-call abort and timeout, exact accounting when a worker dies or fails to start, warm
 * start, graceful close and statistics. Where and when each call runs is placement.ts's
 * business; the transport carries the messages, the worker runs them.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { decodeThrown, type ThrownData } from '../wire/thrown.ts';
import { replyValue, type Reply, type StreamChunk } from '../wire/protocol.ts';
import { allRegistrations, unfindableReason, type Registration } from '../registry/registry.ts';
import {
  CallAbortedError,
  CallTimeoutError,
  PoolClosedError,
  QueueFullError,
  SmartAsyncError,
  WorkerCrashedError,
  WorkerStartError,
  type CancelledState,
} from '../errors.ts';
import type { DurationStats, FunctionStats, PoolOptions, PoolStats } from '../types.ts';
import { FunctionMetrics } from './metrics.ts';
import type { CallProfile } from './profile.ts';
import { callChannel, workerExitChannel } from './channels.ts';
import { startCallSpan } from './trace.ts';
import { newPending, Placement, type Pending, type PoolWorker } from './placement.ts';
import { instanceRefOf, unsendable, type InstanceRef, type Task } from './task.ts';
import type { Outgoing } from './worker-link.ts';
import { ItemStream, STREAM_WINDOW } from './stream.ts';
import { StartFailures } from './start-failures.ts';
import { validatePoolOptions } from './options.ts';
import { reportCrash } from './crash-report.ts';

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
  private readonly starts = new StartFailures();
  private closing = false;
  private drained: (() => void) | undefined;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private readonly waitTime = new Durations();
  private readonly runTime = new Durations();
  /** Every function or method called through this pool so far (by its profile). */
  private readonly functions = new Map<CallProfile, FunctionMetrics>();

  constructor(options: PoolOptions = {}) {
    validatePoolOptions(options);
    this.maxQueue = options.maxQueue ?? 10_000;
    const resolved = {
      ...options,
      size: options.size ?? Math.max(1, os.availableParallelism()),
      concurrencyPerWorker: options.concurrencyPerWorker ?? 256,
    };
    this.placement = new Placement(resolved, {
      onReplies: (worker, replies) => this.onReplies(worker, replies),
      onExit: (worker, code) => this.onExit(worker, code),
      onUnsendable: (call, err) => this.settle(call, false, unsendable(call.task!, err)),
      mayStart: () => this.starts.mayStart(),
      onSpawnFailed: (err) => this.startFailed(err instanceof Error ? err : new Error(String(err))),
    });
  }

  /** Runs `task` on a worker. */
  run(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => this.submit(task, resolve, reject));
  }

  /**
   * Runs `task` (a generator) on a worker and streams its items back: the worker runs at most
   * `STREAM_WINDOW` items ahead of the reader, and holds its worker only while it produces.
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

  /** Places a call (or queues it), with its timeout and abort signal armed. */
  private submit(
    task: Task,
    resolve: (value: unknown) => void,
    reject: (err: unknown) => void,
    onChunk?: (chunk: StreamChunk) => void,
  ): Pending {
    const now = performance.now();
    const { policy } = this.placement;
    // A stream holds its worker while it produces: placed as a long call, whatever its profile
    // says. An async body holds none: it shares its worker while it awaits.
    const cls = task.isAsync ? 'short' : onChunk ? 'long' : policy.classify(task.profile);
    if (cls === 'short' && !task.instance?.pinned) policy.shortArrived(now);
    const call = newPending(task.label, task, resolve, reject, cls, now);
    call.onChunk = onChunk;
    call.cpuBound = cls !== 'short' && policy.isHoldable(task.profile);
    if (onChunk) call.credit = STREAM_WINDOW;
    if (callChannel.hasSubscribers) {
      call.trace = { name: task.label };
      callChannel.start.publish(call.trace);
    }
    call.span = startCallSpan(task.label);
    const refusal = this.refusal(task);
    if (refusal) {
      this.settle(call, false, refusal);
      if (call.trace) callChannel.end.publish(call.trace);
      return call;
    }
    if (!this.placement.place(call)) {
      const starting = this.starts.error();
      if (starting) this.settle(call, false, this.startError(call, starting));
      else if (this.placement.lines.size >= this.maxQueue)
        this.settle(call, false, new QueueFullError(task.label, this.maxQueue));
      else this.placement.lines.push(call);
    }
    this.watch(call);
    if (call.trace) callChannel.end.publish(call.trace);
    return call;
  }

  /** Why a new call is refused at once, if it is. */
  private refusal(task: Task): Error | undefined {
    if (this.closing) return new PoolClosedError(task.label);
    const signal = task.options?.signal;
    if (signal?.aborted) return new CallAbortedError(task.label, signal.reason);
    const failing = this.starts.refusing();
    return failing && this.startError({ label: task.label }, failing);
  }

  /** The reader of a stream has room for more items, or stopped reading. */
  private signalStream(call: Pending, op: 'pull' | 'cancel', credit = 0): void {
    if (call.settled) return;
    const worker = call.worker;
    if (op === 'pull') {
      if (!worker) return;
      call.credit += credit;
      this.placement.unpark(call);
      return worker.signal({ op, seq: call.seq, credit });
    }
    call.readerStopped = true; // an abort or timeout after this changes nothing: the reader is done
    if (worker && !worker.revoke(call.slot, call.seq)) return worker.stopStream(call.seq); // its last reply settles it
    // Not started: it never will.
    if (worker) this.placement.unhold(worker, call);
    else this.placement.remove(call);
    this.settle(call, true, { items: [] } satisfies StreamChunk);
    if (worker) this.placement.pump(worker);
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
    const failing = this.starts.refusing();
    if (failing) throw this.startError({ label: 'warm()' }, failing);
    this.placement.startAll();
    const targets = allRegistrations().filter((r) => r.kind !== 'error' && !unfindableReason(r));
    const work: Promise<unknown>[] = [];
    const { workers } = this.placement;
    for (const worker of workers) for (const reg of targets) work.push(this.prepare(worker, reg, undefined));
    for (const ref of refs) {
      const pinned = ref.pinned ? this.placement.pinFor(ref) : undefined;
      for (const worker of pinned ? [pinned] : workers) work.push(this.prepare(worker, ref.reg, ref));
    }
    await Promise.all(work);
  }

  private prepare(worker: PoolWorker, reg: Registration, ref: InstanceRef | undefined): Promise<unknown> {
    return this.control(worker, `warm-up of ${ref?.label ?? reg.label}`, false, worker.prepareRequest(reg, ref));
  }

  /** Sends one of the pool's own requests to `worker`; settles with its reply. */
  private control(worker: PoolWorker, label: string, okOnCrash: boolean, outgoing: Outgoing): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call = newPending(label, undefined, resolve, reject, 'short', performance.now());
      call.okOnCrash = okOnCrash;
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
      functions: this.functionStats(),
    };
  }

  /** Per function: its figures, with its calls waiting now (and held back among those). */
  private functionStats(): FunctionStats[] {
    const waiting = new Map<FunctionMetrics, number>();
    const held = new Map<FunctionMetrics, number>();
    const holding = this.placement.heldBack() > 0;
    const count = (calls: Iterable<Pending>, into: Map<FunctionMetrics, number>) => {
      for (const call of calls) {
        const m = call.task && this.functions.get(call.task.profile);
        if (m) into.set(m, (into.get(m) ?? 0) + 1);
      }
    };
    count(this.placement.waiting(), waiting);
    if (holding) count(this.placement.lines.long.waiting(), held);
    return [...this.functions.values()].map((m) => m.snapshot(waiting.get(m) ?? 0, held.get(m) ?? 0));
  }

  /** The figures of `task`'s function, made at its first call. */
  private metricsOf(task: Task): FunctionMetrics {
    let m = this.functions.get(task.profile);
    if (!m) this.functions.set(task.profile, (m = new FunctionMetrics(task.label)));
    return m;
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
    if (!this.drained || this.placement.lines.size > 0) return;
    if (!this.placement.workers.every((w) => w.inflight.size === 0 && w.pinnedLine.length === 0)) return;
    const done = this.drained;
    this.drained = undefined;
    done();
  }

  // ---- settling -------------------------------------------------------------------------

  private onReplies(worker: PoolWorker, replies: Reply[]): void {
    if (!worker.answered) {
      worker.answered = true;
      this.starts.started();
      if (!worker.retired) this.placement.answered(worker);
    }
    const now = performance.now();
    let movedShort = false;
    for (const reply of replies) {
      const call = worker.inflight.get(reply.seq);
      if (!call) continue;
      if (reply.more) {
        if (!call.settled) this.onChunk(call, replyValue(reply) as StreamChunk);
        continue; // a chunk of a stream: its last reply is still to come
      }
      this.placement.unhold(worker, call);
      if (call.settled) continue; // cancelled after it started: the result is dropped
      const task = call.task;
      if (task) {
        this.account(worker, call, task, reply, now);
        // What the call would run on a free core: time its thread was preempted is the machine's.
        movedShort = this.placement.record(task.profile, reply.runMs - (reply.waitMs ?? 0), reply.cpuMs) || movedShort;
        if (reply.changedFields) task.onChanged?.(reply.changedFields);
      }
      if (reply.ok) this.settle(call, true, replyValue(reply));
      else this.settle(call, false, decodeThrown(reply.value as ThrownData, task?.caller?.stack));
    }
    // Calls that proved short may go to any worker taking short calls, the express one too.
    if (movedShort) this.placement.pumpAll();
    else if (!worker.retired) this.placement.pump(worker);
    this.checkDrained();
  }

  /** Adds a finished call's wait and run time to the pool's figures and its function's. */
  private account(worker: PoolWorker, call: Pending, task: Task, reply: Reply, now: number): void {
    const waitMs = Math.max(0, now - call.enqueuedAt - reply.runMs);
    this.runTime.add(reply.runMs);
    this.waitTime.add(waitMs);
    const m = this.metricsOf(task);
    m.runTime.add(reply.runMs);
    m.waitTime.add(waitMs);
    if (worker.express) m.expressCalls++;
    if (call.trace || call.span) {
      call.ran = { worker: worker.name, waitMs, runMs: reply.runMs };
      if (call.trace) Object.assign(call.trace, call.ran);
    }
  }

  /** A chunk of a stream's items; a stream that has used up its reader's room parks. */
  private onChunk(call: Pending, chunk: StreamChunk): void {
    call.credit -= chunk.items.length;
    if (call.credit <= 0) this.placement.park(call);
    call.onChunk!(chunk);
  }

  /** Settles `call` once: fulfilled with `outcome`, or rejected with it (whatever was thrown). */
  private settle(call: Pending, ok: boolean, outcome: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer) clearTimeout(call.timer);
    if (call.onAbort) call.task?.options?.signal?.removeEventListener('abort', call.onAbort);
    if (call.task) {
      const m = this.metricsOf(call.task);
      if (ok) {
        this.completed++;
        m.completed++;
      } else {
        this.failed++;
        m.failed++;
      }
    }
    call.span?.end(ok, outcome, call.ran ?? {});
    const trace = call.trace;
    if (!trace) return ok ? call.resolve(outcome) : call.reject(outcome);
    if (ok) trace.result = outcome;
    else callChannel.error.publish(Object.assign(trace, { error: outcome }));
    callChannel.asyncStart.publish(trace);
    if (ok) call.resolve(outcome);
    else call.reject(outcome);
    callChannel.asyncEnd.publish(trace);
  }

  /**
   * Abort or timeout. A call not started yet is revoked (compare-and-swap on its claim slot),
   * so it never runs; a stream that started ends at its generator's next item; a synchronous
   * call running now cannot be interrupted, so its worker is terminated and replaced.
   */
  private cancel(call: Pending, why: 'abort' | 'timeout'): void {
    if (call.settled || call.readerStopped) return;
    const worker = call.worker;
    const fail = (state: CancelledState) => {
      const { label, options } = call.task!;
      const err =
        why === 'timeout'
          ? new CallTimeoutError(label, options!.timeout!, state)
          : new CallAbortedError(label, options?.signal?.reason, state);
      this.settle(call, false, err);
    };
    if (!worker || worker.revoke(call.slot, call.seq)) {
      if (worker) this.placement.unhold(worker, call);
      else this.placement.remove(call);
      fail('waiting');
      if (worker) this.placement.pump(worker);
      this.checkDrained();
      return;
    }
    if (call.onChunk) {
      fail('started');
      return worker.stopStream(call.seq);
    }
    const running = worker.running(call.seq);
    fail(running ? 'killed' : 'started');
    if (running) this.stopWorker(worker, call.label);
  }

  // ---- workers that end -----------------------------------------------------------------

  private stopWorker(worker: PoolWorker, reason: string): void {
    worker.stopping = true;
    worker.stoppedFor = `was terminated to stop ${reason}, which ran past its timeout or was aborted`;
    this.retire(worker, worker.stoppedFor);
    void worker.worker.terminate();
  }

  private onExit(worker: PoolWorker, code: number): void {
    if (workerExitChannel.hasSubscribers) workerExitChannel.publish(exitEvent(worker, code));
    if (worker.stoppedFor) return this.failStarted(worker, worker.stoppedFor);
    if (worker.stopping || worker.retired) return;
    if (!worker.ready)
      return this.startFailed(worker.lastError ?? new Error(`the worker exited with code ${code}`), worker);
    this.crashed++;
    const cause = worker.lastError;
    const detail = cause
      ? `died with an uncaught error (${cause.message})`
      : `exited with code ${code} (process.exit() in the worker, or a fatal error)`;
    reportCrash(detail, cause);
    this.retire(worker, detail, cause);
  }

  /**
   * A worker failed before it could take calls (or could not be created). Its calls never
   * started. If another worker serves, they run there; if none does, they and every call
   * waiting fail with the worker's own error, and new calls fail at once until the back-off
   * ends (start-failures.ts): no loop of workers dying as they start.
   */
  private startFailed(cause: Error, worker?: PoolWorker): void {
    this.starts.failed(cause);
    const unstarted = worker ? this.unstartedOf(worker) : [];
    if (this.placement.workers.some((w) => w.ready)) {
      this.placement.replace(unstarted);
      return;
    }
    // Settled on the next turn: this may run inside placement (a `new Worker` that threw).
    queueMicrotask(() => {
      for (const call of [...unstarted, ...this.placement.drainLines()])
        this.settle(call, false, this.startError(call, cause));
      this.checkDrained();
    });
  }

  /** What a call fails with when no worker could start: the worker's error, explained. */
  private startError(call: Pick<Pending, 'label'>, cause: Error): Error {
    if (cause instanceof SmartAsyncError) return cause; // ours already says what to do (a missing worker entry)
    // Where it was thrown (a preload, a loader): the first frame of its stack.
    const at = /\n\s+at (.+)/.exec(cause.stack ?? '')?.[1];
    const detail = `${cause.name}: ${cause.message}${at ? ` (at ${at})` : ''}`;
    return new WorkerStartError(call.label, detail, { cause });
  }

  /** Takes `worker` out of the pool; the calls it held (none of which started) are returned. */
  private unstartedOf(worker: PoolWorker): Pending[] {
    this.placement.retire(worker);
    worker.channel.close();
    const calls = [...worker.inflight.values(), ...worker.pinnedLine.splice(0)];
    worker.inflight.clear();
    worker.calls = worker.asyncCalls = 0;
    return calls.filter((call) => !call.settled);
  }

  /**
   * Takes `worker` out of the pool, with exact accounting for the calls it held: replies the
   * worker wrote are delivered first; calls it never started go back in line (pinned ones to
   * their instance's new worker); only calls that started and did not finish fail, with a
   * WorkerCrashedError (`started`: it may have had effects) whose message ends with `detail`.
   */
  private retire(worker: PoolWorker, detail: string, cause?: Error): void {
    this.placement.retire(worker);
    // Calls it has not started are taken back first: a worker being terminated runs on until
    // the termination lands, and must start none of them meanwhile.
    const again: Pending[] = [];
    for (const call of worker.inflight.values()) {
      if (call.settled || !call.task || !worker.revoke(call.slot, call.seq)) continue;
      again.push(call);
      worker.inflight.delete(call.seq);
    }
    worker.calls = worker.asyncCalls = 0;
    worker.exclusive = worker.held = 0;
    this.placement.replace([...again, ...worker.pinnedLine.splice(0)]);
    // A worker being terminated may still finish what it started: its replies are read until
    // it has exited, and what is left fails then (onExit).
    if (worker.stoppedFor) return this.checkDrained();
    this.failStarted(worker, detail, cause);
  }

  /** Calls `worker` (ended) started: a reply it wrote is delivered, the others fail as crashed. */
  private failStarted(worker: PoolWorker, detail: string, cause?: Error): void {
    worker.channel.drain();
    worker.channel.close();
    for (const call of worker.inflight.values()) {
      if (call.settled) continue;
      const failure = new WorkerCrashedError(call.label, detail, cause ? { cause } : undefined);
      this.settle(call, call.okOnCrash, call.okOnCrash ? undefined : failure);
    }
    worker.inflight.clear();
    this.checkDrained();
  }
}

/** The `smartasync:worker:exit` event for `worker`. */
function exitEvent(worker: PoolWorker, code: number): object {
  const reason = worker.stopping ? 'stopped' : !worker.ready ? 'failed to start' : 'crashed';
  return { name: worker.name, code, reason, error: worker.lastError };
}

let defaultPool: Pool | undefined;
let defaultOptions: PoolOptions = {};

/**
 * Sets the options of the default pool. Call it before the first offloaded call (or after
 * `getPool().close()`): a running pool cannot change shape under its calls.
 */
export function configure(options: PoolOptions): void {
  validatePoolOptions(options);
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
