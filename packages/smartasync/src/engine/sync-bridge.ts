/**
 * The sync bridge: `f.sync()` of an async body. The calling thread writes the call into a
 * shared-memory ring, wakes a dedicated worker and blocks in Atomics.wait on the reply ring
 * until the worker writes the reply there (a transport Channel whose receiving end is read
 * synchronously). A dedicated worker (not the pool) means a blocked pool worker can never be
 * the one its own call is waiting for.
 *
 * Deadlock rule: the async work must not wait on the blocked thread (no message round trip
 * to it, no lock it holds), since that thread cannot run until the work settles.
 */
import { performance } from 'node:perf_hooks';
import { decodeThrown, type ThrownData } from '../wire/thrown.ts';
import { CTRL_READY, replyValue, type Reply, type StreamChunk } from '../wire/protocol.ts';
import { CallAbortedError, CallTimeoutError, WorkerStartError } from '../errors.ts';
import { WorkerLink } from './worker-link.ts';
import { configuredExecArgv } from './pool.ts';
import { unsendable, type InstanceRef, type Task } from './task.ts';
import { STREAM_WINDOW, StreamBuffer, type StreamSignal } from './stream.ts';
import { callChannel } from './channels.ts';
import { startCallSpan, type CallSpan } from './trace.ts';

let bridge: WorkerLink | undefined;
/** Why the bridge last failed to start, once the event loop has told us. */
let lastStartError: Error | undefined;

/**
 * How long a caller waits for a new bridge worker to start. The caller is blocked meanwhile,
 * so it cannot hear of a worker that died starting (its event loop does not turn): a start that
 * takes longer is taken for a failed one.
 */
const BRIDGE_START_MS = 10_000;

function start(label: string): WorkerLink {
  // configure({ execArgv }) (a TypeScript loader, say) applies to this worker as to the pool's.
  const link = new WorkerLink({ role: 'bridge', name: 'smartasync-sync-bridge', execArgv: configuredExecArgv() });
  link.worker.on('error', (err) => (lastStartError = link.ready ? lastStartError : err));
  link.worker.on('exit', () => {
    if (bridge === link) bridge = undefined;
  });
  const deadline = performance.now() + BRIDGE_START_MS;
  while (!link.ready && performance.now() < deadline) Atomics.wait(link.ctrl, CTRL_READY, 0, 50);
  if (link.ready) {
    lastStartError = undefined;
    return link;
  }
  void link.worker.terminate();
  const before = lastStartError ? ` (the previous attempt failed with: ${lastStartError.message})` : '';
  throw new WorkerStartError(
    label,
    `the sync bridge worker did not start within ${BRIDGE_START_MS / 1000} s${before}`,
    {
      cause: lastStartError,
    },
  );
}

/** Runs `task` (an async body) on the bridge worker and blocks until it settles. */
export function runBlocking(task: Task): unknown {
  if (!callChannel.hasSubscribers) return traceBlocking(task);
  return callChannel.traceSync(() => traceBlocking(task), { name: task.label, worker: 'smartasync-sync-bridge' });
}

/** runBlocking, inside its OpenTelemetry span if the caller is in a trace. */
function traceBlocking(task: Task): unknown {
  const span = startCallSpan(task.label);
  if (!span) return callBlocking(task, undefined);
  const started = performance.now();
  const figures = () => ({ worker: 'smartasync-sync-bridge', runMs: performance.now() - started });
  try {
    const value = callBlocking(task, span);
    span.end(true, value, figures());
    return value;
  } catch (err) {
    span.end(false, err, figures());
    throw err;
  }
}

function callBlocking(task: Task, span: CallSpan | undefined): unknown {
  const { label, options } = task;
  if (options?.signal?.aborted) throw new CallAbortedError(label, options.signal.reason);
  const b = (bridge ??= start(label));
  const outgoing = b.callRequest(task, false, undefined, span?.carrier);
  try {
    b.send(outgoing, { transfer: options?.transfer, now: true }); // this thread blocks next: wake the worker now
  } catch (err) {
    throw unsendable(task, err);
  }
  const reply = awaitReply(b, outgoing.request.seq, options?.timeout);
  if (!reply) {
    // The async work is still running and cannot be recalled: end the bridge, start anew next time.
    bridge = undefined;
    void b.worker.terminate();
    throw new CallTimeoutError(label, options!.timeout!, 'killed');
  }
  if (reply.ok) return replyValue(reply);
  throw decodeThrown(reply.value as ThrownData, task.caller?.stack);
}

/**
 * Runs `task` (an async generator) on the bridge worker: a generator whose every `next()`
 * blocks this thread until an item is there (the worker runs at most STREAM_WINDOW ahead).
 */
export function streamBlocking(task: Task): Generator<unknown, unknown, undefined> {
  const { options } = task;
  if (options?.signal?.aborted) throw new CallAbortedError(task.label, options.signal.reason);
  const b = (bridge ??= start(task.label));
  const outgoing = b.callRequest({ ...task, stream: STREAM_WINDOW }, false);
  try {
    b.send(outgoing, { transfer: options?.transfer, now: true });
  } catch (err) {
    throw unsendable(task, err);
  }
  const seq = outgoing.request.seq;
  return new BlockingStream(
    (op, credit = 0) => b.signal(op === 'pull' ? { op, seq, credit } : { op, seq }, true),
    () => {
      const reply = awaitReply(b, seq, options?.timeout);
      if (reply) return reply;
      // The generator cannot be recalled: end the bridge, start anew next time.
      if (bridge === b) bridge = undefined;
      void b.worker.terminate();
      throw new CallTimeoutError(task.label, options!.timeout!, 'killed');
    },
    task,
  );
}

/** A generator's items, read blocking: each `next()` waits for the bridge worker's next chunk. */
class BlockingStream extends StreamBuffer implements Generator<unknown, unknown, undefined> {
  private readonly nextReply: () => Reply;
  private readonly task: Task;

  constructor(signal: StreamSignal, nextReply: () => Reply, task: Task) {
    super(signal);
    this.nextReply = nextReply;
    this.task = task;
  }

  next(): IteratorResult<unknown, unknown> {
    for (;;) {
      const ready = this.take();
      if (ready) return ready;
      this.receive();
    }
  }

  /** `break` or `return` in a `for...of` loop: the generator ends on the bridge (its `finally` runs). */
  return(value?: unknown): IteratorResult<unknown, unknown> {
    if (!this.ended) {
      this.signal('cancel');
      while (!this.ended) this.receive();
    }
    const crashed = this.crashed();
    if (crashed) throw crashed;
    return { done: true, value };
  }

  throw(err: unknown): IteratorResult<unknown, unknown> {
    try {
      this.return();
    } catch {
      // the error thrown in the loop is the one to report
    }
    throw err;
  }

  [Symbol.iterator](): this {
    return this;
  }

  [Symbol.dispose](): void {
    this.return();
  }

  private receive(): void {
    const reply = this.nextReply();
    const value = reply.ok ? (replyValue(reply) as StreamChunk) : undefined;
    if (!value) this.fail(decodeThrown(reply.value as ThrownData, this.task.caller?.stack));
    else if (reply.more) this.push(value.items);
    else this.finish(value.items, value.returned);
  }
}

/**
 * Blocks until the reply numbered `seq` arrives, or undefined on timeout; replies to
 * fire-and-forget releases are skipped.
 */
function awaitReply(b: WorkerLink, seq: number, timeout: number | undefined): Reply | undefined {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  for (;;) {
    const reply = b.channel.receiveSync(deadline);
    if (!reply || reply.seq === seq) return reply;
  }
}

/** Drops the bridge's replica of `instance`, if it has one. Does not wait. */
export function releaseOnBridge(instance: InstanceRef): void {
  if (bridge?.replicas.has(instance.id)) bridge.send(bridge.releaseRequest(instance.id));
}
