/**
 * The public types that stand alone: options, the pool and its statistics. What
 * `smartasync(fn)` and `smartasync(Class)` return is in `surface/`.
 */

/** Any function smartasync can wrap. `any` stays internal: no public signature exposes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => any;
/** Any class smartasync can wrap. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClass = abstract new (...args: any[]) => object;

/** Options for one call. */
export interface CallOptions {
  /** Cancels the call. A queued call is dropped; a running sync call's worker is terminated and replaced. */
  readonly signal?: AbortSignal;
  /** Milliseconds before the call rejects with `CallTimeoutError` (same effect as aborting). */
  readonly timeout?: number;
  /** Objects among the arguments to transfer rather than copy (ArrayBuffers, MessagePorts). */
  readonly transfer?: readonly TransferItem[];
}

/**
 * What `transfer` takes: the objects Node moves to another thread rather than copying. Our
 * own name, not `@types/node`'s (`TransferListItem` up to 25, `Transferable` from 26), so that
 * these types compile whichever `@types/node` the app has.
 */
export type TransferItem =
  | ArrayBuffer
  | import('node:worker_threads').MessagePort
  | import('node:fs/promises').FileHandle
  | ReadableStream
  | WritableStream
  | TransformStream;

/** Where an instance's worker-side calls run. */
export type Placement = 'spread' | 'pinned';

/** Options for `smartasync(fn, options)`. */
export interface FunctionOptions {
  /**
   * `'always'` (default): every `await f()` of a synchronous body runs on a worker.
   * `'auto'`: calls that keep finishing in under `inlineBelowMs` run inline instead, because
   * a hand-off to a worker then costs more than the event loop loses; the first call that
   * takes longer sends the following ones back to workers. Only for code whose state lives
   * outside the object (a database, a file): inline calls use this thread's instance.
   */
  readonly offload?: 'always' | 'auto';
  /** With `offload: 'auto'`: what counts as fast enough to run inline. Default: 0.1 ms. */
  readonly inlineBelowMs?: number;
  /**
   * `true`: `await f()` of an async body runs it on a pool worker too (and an `async function*`
   * streams its items from there), so that its own work (an async driver parsing rows, say)
   * runs on that worker's event loop, not this one. The worker awaits it; many such calls share
   * one worker, as they share an event loop. For a class, every async method; each worker has
   * its own replica, as for synchronous methods. Default: `false` (an async body runs here, as
   * written). `.sync()` is unchanged. Values are checked at run time only: the compile-time check
   * of what crosses threads does not see this option.
   */
  readonly offloadAsync?: boolean;
}

/** Options for `smartasync(Class, options)`; `T` is the instance type. */
export interface ClassOptions<T extends object = object> extends FunctionOptions {
  /**
   * `'spread'` (default): calls go to any pool worker, each with its own replica.
   * `'pinned'`: each instance keeps to one worker, so its calls run there in call order
   * (session state, read-your-writes sequences).
   */
  readonly placement?: Placement;
  /**
   * How a worker builds its replica, for classes whose constructor arguments cannot cross
   * threads: services injected by a framework (NestJS providers), open connections. Called on
   * each worker, once per instance, instead of the constructor; it may be async (build a
   * NestJS application context and `get()` the provider from it, say). With it, constructor
   * arguments are neither checked nor sent. Define it where the class is wrapped (module top
   * level): a worker finds it by importing that module.
   */
  readonly replica?: () => T | Promise<T>;
}

/** Options for the worker pool. */
export interface PoolOptions {
  /** Worker threads at most. Default: `os.availableParallelism()` (at least 1). */
  readonly size?: number;
  /** Calls allowed to wait for a worker before new ones are refused. Default: 10,000. */
  readonly maxQueue?: number;
  /**
   * Calls sent to one worker ahead of time, so messages batch. Calls still waiting behind a
   * synchronous call that runs long (over 2 ms) are taken back and given to a free worker.
   * Default: 256 (with 32, a worker drained its batch and slept before the next one came:
   * one worker's throughput was 0.74x).
   */
  readonly concurrencyPerWorker?: number;
  /**
   * Memory limits for each worker; a worker that exceeds them dies and is replaced. Default:
   * `{ maxYoungGenerationSizeMb: 48 }`, which caps a worker's new space at 32 MB (Node 20's
   * size): left to itself, Node 24 grows a busy worker's new space to 128 MB and keeps it.
   * Set `maxYoungGenerationSizeMb` to choose another size (192 gives V8's own maximum back);
   * the other limits are unset unless given.
   */
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits;
  /** Node options for workers. Default: the process's own `execArgv` (keeps loaders such as tsx). */
  readonly execArgv?: string[];
  /**
   * Head-of-line protection, on by default: short calls never wait behind long ones, and
   * while short calls arrive, CPU-bound long calls leave a core free for them. `false` turns
   * it off (one first-in, first-out line, as in most pools). See {@link HeadOfLineOptions}.
   */
  readonly headOfLine?: boolean | HeadOfLineOptions;
  /**
   * Linux: pool workers run this many nice steps below the thread that starts the pool (0 to
   * 19). When every core is busy (CPU-bound calls, a database server, other processes), the
   * kernel then runs the event loop first and the workers with what is left, so requests that
   * never reach the pool keep their latency; on an idle core a worker runs as fast as ever. The
   * express worker (short calls only, see `headOfLine`) keeps the caller's priority. A thread
   * cannot raise its priority again without privileges, so this is fixed per worker at its
   * start. Elsewhere a priority belongs to the whole process, and this does nothing.
   * Default: 0 (workers run at the caller's priority).
   */
  readonly workerNice?: number;
}

/**
 * The knobs of head-of-line protection. Whether a call is short or long is learned from the
 * past calls of its function or method: nothing to declare per call.
 */
export interface HeadOfLineOptions {
  /**
   * A function or method whose calls typically run this long (in ms; the median of its latest 8
   * calls) is long. Default: 2.
   */
  readonly longCallMs?: number;
  /** How long (ms) after the last short call long calls stay held back. Default: 1000. */
  readonly holdMs?: number;
  /**
   * CPU cores kept free of CPU-bound long calls while short calls arrive: long calls then run
   * on at most `availableParallelism() - reservedCores` workers (never fewer than one).
   * Default: 1.
   */
  readonly reservedCores?: number;
}

/** Running totals of a duration, in milliseconds. */
export interface DurationStats {
  /** How many durations were added up. */
  readonly count: number;
  /** Their sum. */
  readonly totalMs: number;
  /** Their mean (`totalMs / count`; 0 before the first). */
  readonly meanMs: number;
  /** The longest. */
  readonly maxMs: number;
}

/** A snapshot of the pool, e.g. for a metrics endpoint. */
export interface PoolStats {
  /** Worker threads alive now. */
  readonly workers: number;
  /** Workers holding no call. */
  readonly idleWorkers: number;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Calls sent to a worker and not yet settled. */
  readonly running: number;
  /** Calls that settled with a value. */
  readonly completed: number;
  /** Calls that settled with an error (including aborts, timeouts and crashes). */
  readonly failed: number;
  /** Workers that died unexpectedly and were replaced. */
  readonly crashedWorkers: number;
  /** From the call to its start on a worker. */
  readonly waitTime: DurationStats;
  /** Time running on the worker. */
  readonly runTime: DurationStats;
  /** Of `queued`, calls of long functions waiting while short calls have the free capacity. */
  readonly heldBack: number;
  /** Calls that ran on the express worker, because every other worker held a long call. */
  readonly expressCalls: number;
  /** The same, per wrapped function or method (those called so far), with histograms. */
  readonly functions: readonly FunctionStats[];
}

/** A pool's figures for one wrapped function or method. */
export interface FunctionStats {
  /** As messages name it: `hash()`, `UserRepo#find()`. */
  readonly name: string;
  /** Calls that settled with a value. */
  readonly completed: number;
  /** Calls that settled with an error. */
  readonly failed: number;
  /** Calls of it waiting for a worker now. */
  readonly queued: number;
  /** Of those queued, the calls held back by head-of-line protection (see `PoolStats.heldBack`). */
  readonly heldBack: number;
  /** Calls of it that ran on the express worker. */
  readonly expressCalls: number;
  /** From the call to its start on a worker. */
  readonly waitTime: Histogram;
  /** Time running on the worker. */
  readonly runTime: Histogram;
}

/** A histogram of durations in milliseconds, in the shape Prometheus histograms take. */
export interface Histogram {
  /** Durations recorded. */
  readonly count: number;
  /** Their sum, in milliseconds. */
  readonly sumMs: number;
  /** Cumulative counts: how many took at most `le` ms (the last bucket's `le` is Infinity). */
  readonly buckets: readonly {
    /** The bucket's upper bound in milliseconds, inclusive. */
    readonly le: number;
    /** Durations at most `le`. */
    readonly count: number;
  }[];
}

/** The worker pool behind every wrapped function and class (see `getPool()`). */
export interface Pool {
  /** A snapshot of the pool's state and running totals. */
  stats(): PoolStats;
  /** Graceful shutdown: refuses new calls, lets queued and running ones finish, then ends the workers. */
  close(): Promise<void>;
  /**
   * Starts every worker now and has each import the modules of all functions and classes
   * registered so far, and build its replica of each instance given: the first call then
   * costs what the hundredth does. Call it at start-up, before the server listens. Rejects
   * if a module cannot be loaded in a worker (the error a first call would have met).
   */
  warm(...instances: object[]): Promise<void>;
  /** Worker threads at most. */
  readonly size: number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}
