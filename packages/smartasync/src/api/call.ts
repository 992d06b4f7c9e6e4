/**
 * One call path for every wrapped callable (a function, a method of a wrapped class, an
 * `@offload` method): decide per call whether the body runs here or elsewhere (the 2×2 table
 * in the README) and hand elsewhere-calls to the pool or the sync bridge as Tasks. The API
 * layer never touches a worker or a message.
 */
import { performance } from 'node:perf_hooks';
import { unfindableReason, type Registration } from '../registry/registry.ts';
import { checkCloneable, toJsonText } from '../wire/values.ts';
import { appendCallerFrames } from '../wire/thrown.ts';
import { inSmartasyncWorker } from '../wire/protocol.ts';
import { getPool } from '../engine/pool.ts';
import { runBlocking, streamBlocking } from '../engine/sync-bridge.ts';
import { CallProfile, RECENT } from '../engine/profile.ts';
import type { InstanceRef, Task } from '../engine/task.ts';
import { RegistrationError } from '../errors.ts';
import { contextForCall } from './context.ts';
import type { AnyFunction, CallOptions, FunctionOptions } from '../types.ts';
import type { SmartFunction } from '../surface/function.ts';

/**
 * What one function or method has shown so far, and whether `offload: 'auto'` lets it run
 * inline: while at least 7 of its latest 8 calls finished under the threshold; a second slow
 * one in 8 sends it back to workers. One slow call is not a verdict: on a busy machine an
 * inline call is now and then preempted or caught by a GC pause.
 */
export class CallPolicy {
  readonly profile = new CallProfile();
  private readonly inlineBelowMs: number | undefined;
  /** `offloadAsync`: awaited async bodies run on a pool worker too. */
  readonly asyncOnWorker: boolean;

  /** Validates `options` for `what` (e.g. `hash()`, `class Repo`). */
  constructor(options: FunctionOptions | undefined, what: string) {
    const mode = options?.offload ?? 'always';
    if (mode !== 'always' && mode !== 'auto') {
      throw new TypeError(`smartasync: offload for ${what} must be 'always' or 'auto', got ${JSON.stringify(mode)}.`);
    }
    const below = options?.inlineBelowMs ?? 0.1;
    if (!(below >= 0))
      throw new RangeError(`smartasync: inlineBelowMs for ${what} must be a number of milliseconds ≥ 0.`);
    this.inlineBelowMs = mode === 'auto' ? below : undefined;
    const offloadAsync = options?.offloadAsync ?? false;
    if (typeof offloadAsync !== 'boolean')
      throw new TypeError(
        `smartasync: offloadAsync for ${what} must be true or false, got ${JSON.stringify(offloadAsync)}.`,
      );
    this.asyncOnWorker = offloadAsync;
  }

  /** Whether the next call runs inline (only ever with `offload: 'auto'`). */
  get inline(): boolean {
    const { profile, inlineBelowMs } = this;
    if (inlineBelowMs === undefined || profile.count < RECENT) return false;
    let slow = 0;
    for (const ms of profile.recent) if (ms >= inlineBelowMs) slow++;
    return slow <= 1;
  }
}

/** One callable as the API layer knows it: how to run it here, and what a Task for it needs. */
export interface Binding {
  readonly reg: Registration;
  readonly label: string;
  readonly isAsync: boolean;
  readonly original: AnyFunction;
  inline(args: unknown[]): unknown;
  readonly instance?: InstanceRef;
  readonly method?: string;
  readonly onChanged?: (fields: string[]) => void;
  /** Shared by every instance, for a method. */
  readonly policy: CallPolicy;
  /** A generator function: calls give its items, streamed. */
  readonly isGenerator?: boolean;
}

/** Runs `run()` on this thread as a settled promise, for callers that always get one. */
function settled(run: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(run());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Whether `await f()` runs the body here: inside workers, and async bodies unless `offloadAsync`. */
function runsHere(b: Binding): boolean {
  return inSmartasyncWorker || (b.isAsync && !b.policy.asyncOnWorker);
}

/** `await f()`: here for async bodies, inside workers and with `offload: 'auto'`; else on a worker. */
export function callAsync(b: Binding, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
  if (b.isGenerator) return streamAsync(b, args, options) as unknown as Promise<unknown>;
  if (runsHere(b)) return settled(() => b.inline(args));
  if (b.isAsync) return offload(b, args, options, false); // offloadAsync: `offload: 'auto'` is for sync bodies
  if (!b.policy.inline) return offload(b, args, options, false);
  const started = performance.now();
  try {
    return settled(() => b.inline(args));
  } finally {
    b.policy.profile.record(performance.now() - started);
  }
}

/** Runs `b` on a pool worker. */
export function offload(
  b: Binding,
  args: unknown[],
  options: CallOptions | undefined,
  resultAsJson: boolean,
): Promise<unknown> {
  return settled(() => {
    assertFindable(b.reg);
    return settleHere(getPool().run(taskFor(b, args, options, resultAsJson)));
  });
}

/** `f.sync()`: here for sync bodies; async bodies on the bridge worker while this thread blocks. */
function callSync(
  b: Binding,
  args: unknown[],
  options: CallOptions | undefined,
  caller: { readonly stack?: string },
): unknown {
  if (!b.isAsync) return b.inline(args);
  assertFindable(b.reg);
  const task = taskFor(b, args, options, false, caller);
  return b.isGenerator ? streamBlocking(task) : runBlocking(task);
}

/**
 * `f()` of a generator function: an async generator of its items. A `function*` runs on a
 * worker and its items stream back; an `async function*` runs here (a sync one too, on a
 * worker thread already). Failures before the first item (a refused argument, say) are thrown
 * by the first `next()`, as a generator's own would be.
 */
function streamAsync(
  b: Binding,
  args: unknown[],
  options: CallOptions | undefined,
): AsyncGenerator<unknown, unknown, undefined> {
  try {
    if (runsHere(b)) return toAsyncGenerator(b.inline(args) as Iterator<unknown> | AsyncIterator<unknown>);
    assertFindable(b.reg);
    return getPool().stream(taskFor(b, args, options, false));
  } catch (err) {
    return failedStream(err);
  }
}

async function* failedStream(err: unknown): AsyncGenerator<never, never, undefined> {
  yield* [];
  throw err;
}

async function* toAsyncGenerator(
  it: Iterator<unknown> | AsyncIterator<unknown>,
): AsyncGenerator<unknown, unknown, undefined> {
  if (Symbol.asyncIterator in it) return yield* it as AsyncGenerator<unknown, unknown, undefined>;
  return yield* it as Generator<unknown, unknown, undefined>;
}

/** The JSON text of a generator's items, collected here (for `f.json()` of an async body). */
async function itemsAsJson(items: AsyncIterable<unknown>): Promise<string> {
  const all: unknown[] = [];
  for await (const item of items) all.push(item);
  return toJsonText(all);
}

/** Refuses, with the reason and the fix, a registration a worker could never find. */
function assertFindable(reg: Registration): void {
  const reason = unfindableReason(reg);
  if (reason) throw new RegistrationError(reason);
}

/**
 * Awaits an offloaded call so that a failure is handled inside an async function the caller
 * awaits: a stack captured there holds the caller's frames through V8's async stack traces,
 * at no cost to calls that succeed (capturing at every call costs ~2 µs).
 */
async function settleHere(pending: Promise<unknown>): Promise<unknown> {
  try {
    return await pending;
  } catch (err) {
    appendCallerFrames(err, captureCaller(settleHere).stack);
    throw err;
  }
}

function captureCaller(fn: Function): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn); // formatted lazily, only if an error needs it
  return holder;
}

/** What the pool or the bridge needs to run one call of `b`. */
function taskFor(
  b: Binding,
  args: unknown[],
  options: CallOptions | undefined,
  resultAsJson: boolean,
  caller?: { readonly stack?: string },
): Task {
  // One literal of one shape (absent parts undefined), not spreads: this runs on every call.
  return {
    reg: b.reg,
    label: b.label,
    args,
    argsReport: checkCloneable(args, () => `the arguments of ${b.label}`, 'args', options?.transfer),
    instance: b.instance,
    method: b.method,
    options,
    onChanged: b.onChanged,
    profile: b.policy.profile,
    resultAsJson,
    caller,
    isAsync: b.isAsync,
    context: contextForCall(b.label),
  };
}

/** The public face of `b`: `f()`, `f.sync()`, `f.json()`, `f.with()`. */
export function makeSmartFunction<F extends AnyFunction>(b: Binding, options?: CallOptions): SmartFunction<F> {
  const call = (...args: unknown[]): Promise<unknown> => callAsync(b, args, options);
  // For results that go straight into an HTTP response: the worker makes the JSON text, so
  // this thread never builds the objects only to serialize them again.
  const json = (...args: unknown[]): Promise<string> => {
    if (!runsHere(b)) return offload(b, args, options, true) as Promise<string>;
    if (b.isGenerator) return itemsAsJson(streamAsync(b, args, options));
    return call(...args).then(toJsonText);
  };
  const sync = (...args: unknown[]): unknown => callSync(b, args, options, syncCaller);
  // sync() blocks until the reply, so a failure is decoded while the caller's frames are
  // still on the stack: capture them only then, not on every call (a capture costs ~2 µs).
  const syncCaller = {
    get stack(): string | undefined {
      return captureCaller(sync).stack;
    },
  };
  Object.defineProperties(call, {
    name: { value: b.original.name },
    sync: { value: sync },
    json: { value: json },
    with: { value: (more: CallOptions) => makeSmartFunction(b, { ...options, ...more }) },
    original: { value: b.original },
    isAsync: { value: b.isAsync },
  });
  return call as unknown as SmartFunction<F>;
}
