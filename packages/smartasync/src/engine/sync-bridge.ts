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
import { restoreBuffers } from '../wire/values.ts';
import { decodeThrown, type ThrownData } from '../wire/thrown.ts';
import type { Reply } from '../wire/protocol.ts';
import { CallAbortedError, CallTimeoutError } from '../errors.ts';
import { WorkerLink } from './worker-link.ts';
import { unsendable, type InstanceRef, type Task } from './task.ts';

let bridge: WorkerLink | undefined;

function start(): WorkerLink {
  const link = new WorkerLink({ role: 'bridge', name: 'smartasync-sync-bridge' });
  link.worker.on('exit', () => {
    if (bridge === link) bridge = undefined;
  });
  return link;
}

/** Runs `task` (an async body) on the bridge worker and blocks until it settles. */
export function runBlocking(task: Task): unknown {
  const { label, options } = task;
  if (options?.signal?.aborted) throw new CallAbortedError(label, options.signal.reason);
  const b = (bridge ??= start());
  const outgoing = b.callRequest(task, false);
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
    throw new CallTimeoutError(label, options!.timeout!, true);
  }
  if (reply.ok) return restoreBuffers(reply.value, reply.buffers);
  throw decodeThrown(reply.value as ThrownData, task.caller?.stack);
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
