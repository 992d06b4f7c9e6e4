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
import { MessageChannel, Worker } from 'node:worker_threads';
import { workerResourceLimits, workerScript } from './environment.ts';
import { restoreBuffers } from './clone.ts';
import { CallAbortedError, CallTimeoutError, decodeThrown, type ThrownData } from './errors.ts';
import { Channel, createChannelEnds } from './transport.ts';
import { MARK, type Reply, type Request, type WorkerBoot } from './protocol.ts';
import { WorkerLink } from './worker-link.ts';
import type { InstanceRef, Task } from './task.ts';

interface Bridge {
  readonly worker: Worker;
  readonly channel: Channel<Request, Reply>;
  readonly link: WorkerLink;
}

let bridge: Bridge | undefined;

function start(): Bridge {
  const { port1, port2 } = new MessageChannel();
  const ends = createChannelEnds(port1, port2);
  const boot: WorkerBoot = { role: 'bridge', ctrl: new SharedArrayBuffer(4), channel: ends.there };
  const worker = new Worker(workerScript, {
    workerData: { [MARK]: boot },
    transferList: [port2],
    resourceLimits: workerResourceLimits(undefined),
    name: 'smartasync-sync-bridge',
  });
  worker.unref();
  port1.unref();
  worker.on('exit', () => {
    if (bridge?.worker === worker) bridge = undefined;
  });
  const channel = new Channel<Request, Reply>(ends.here, () => {}, { receive: 'sync' });
  return { worker, channel, link: new WorkerLink() };
}

/** Runs `task` (an async body) on the bridge worker and blocks until it settles. */
export function runBlocking(task: Task): unknown {
  const { label, options } = task;
  if (options?.signal?.aborted) throw new CallAbortedError(label, options.signal.reason);
  const b = (bridge ??= start());
  const { request, json } = b.link.callRequest(task, b.link.nextSeq, false);
  // This thread blocks next: wake the worker now.
  try {
    b.channel.send(request, { transfer: options?.transfer, json, now: true });
  } catch (err) {
    throw new TypeError(`smartasync: the arguments of ${label} cannot be sent to another thread: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  b.link.sent(request);
  const reply = awaitReply(b, request.seq, options?.timeout);
  if (!reply) {
    // The async work is still running and cannot be recalled: end the bridge, start anew next time.
    bridge = undefined;
    void b.worker.terminate();
    throw new CallTimeoutError(label, options!.timeout!, true);
  }
  if (reply.ok) return restoreBuffers(reply.value, reply.buffers);
  throw decodeThrown(reply.value as ThrownData, task.caller?.stack);
}

/**
 * Blocks until the reply numbered `seq` arrives, or undefined on timeout; replies to
 * fire-and-forget releases are skipped.
 */
function awaitReply(b: Bridge, seq: number, timeout: number | undefined): Reply | undefined {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  for (;;) {
    const reply = b.channel.receiveSync(deadline);
    if (!reply || reply.seq === seq) return reply;
  }
}

/** Drops the bridge's replica of `instance`, if it has one. Does not wait. */
export function releaseOnBridge(instance: InstanceRef): void {
  if (!bridge?.link.replicas.delete(instance.id)) return;
  bridge.channel.send({ op: 'release', seq: bridge.link.nextSeq++, instance: instance.id }, { json: true });
}
