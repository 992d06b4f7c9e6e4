/**
 * The sync bridge: `f.sync()` of an async body. The calling thread hands the call to a
 * dedicated worker and blocks in Atomics.wait until the worker flips a shared word; the reply
 * is then read synchronously from the port. A dedicated worker (not the pool) means a blocked
 * pool worker can never be the one its own call is waiting for.
 *
 * Deadlock rule: the async work must not wait on the blocked thread (no message round trip
 * to it, no lock it holds), since that thread cannot run until the work settles.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { workerScript } from './environment.ts';
import { restoreBuffers } from './clone.ts';
import { CallAbortedError, CallTimeoutError, decodeThrown, type ThrownData } from './errors.ts';
import { MARK, type Reply, type Request, type TargetDef, type WorkerBoot } from './protocol.ts';
import type { InstanceRef, Task } from './pool.ts';
import type { Registration } from './registry.ts';

interface Bridge {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly signal: Int32Array;
  readonly known: Set<number>;
  readonly replicas: Set<number>;
  nextSeq: number;
}

let bridge: Bridge | undefined;
const targetIds = new Map<Registration, TargetDef>();

function start(): Bridge {
  const { port1, port2 } = new MessageChannel();
  const ctrl = new SharedArrayBuffer(4);
  const boot: WorkerBoot = { role: 'bridge', ctrl, port: port2 };
  const worker = new Worker(workerScript, { workerData: { [MARK]: boot }, transferList: [port2], name: 'smartasync-sync-bridge' });
  worker.unref();
  port1.unref();
  worker.on('exit', () => {
    if (bridge?.worker === worker) bridge = undefined;
  });
  return { worker, port: port1, signal: new Int32Array(ctrl), known: new Set(), replicas: new Set(), nextSeq: 1 };
}

function targetDef(reg: Registration): TargetDef {
  let def = targetIds.get(reg);
  if (!def) {
    def = { id: targetIds.size + 1, key: reg.key, moduleUrl: reg.site?.moduleUrl ?? '', label: reg.label, where: reg.where };
    targetIds.set(reg, def);
  }
  return def;
}

/** Runs `task` (an async body) on the bridge worker and blocks until it settles. */
export function runBlocking(task: Task): unknown {
  const { label, options } = task;
  if (options?.signal?.aborted) throw new CallAbortedError(label, options.signal.reason);
  const b = (bridge ??= start());
  const def = targetDef(task.reg);
  const seq = b.nextSeq++;
  const inst = task.instance;
  const needsCtor = inst !== undefined && !b.replicas.has(inst.id);
  const request: Request = {
    op: 'call',
    seq,
    target: def.id,
    args: task.args,
    ...(b.known.has(def.id) ? {} : { def }),
    ...(task.argsReport?.buffers ? { argBuffers: task.argsReport.buffers } : {}),
    ...(inst
      ? {
          instance: {
            id: inst.id,
            method: task.method!,
            ...(needsCtor ? { ctorArgs: inst.ctorArgs, ...(inst.ctorReport?.buffers ? { ctorBuffers: inst.ctorReport.buffers } : {}) } : {}),
          },
        }
      : {}),
  };
  Atomics.store(b.signal, 0, 0);
  b.port.postMessage(request, options?.transfer);
  const reply = awaitReply(b, seq, options?.timeout);
  if (!reply) {
    // The async work is still running and cannot be recalled: end the bridge, start anew next time.
    bridge = undefined;
    void b.worker.terminate();
    throw new CallTimeoutError(label, options!.timeout!, true);
  }
  b.known.add(def.id);
  if (needsCtor) b.replicas.add(inst.id);
  if (reply.ok) return restoreBuffers(reply.value, reply.buffers);
  throw decodeThrown(reply.value as ThrownData, task.caller?.stack);
}

/**
 * Blocks until the reply numbered `seq` arrives, or undefined on timeout. The worker posts
 * a reply before it flips the word, so draining the port before every wait loses no wake-up;
 * replies to fire-and-forget releases are skipped.
 */
function awaitReply(b: Bridge, seq: number, timeout: number | undefined): Reply | undefined {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  for (;;) {
    const reply = receiveMessageOnPort(b.port)?.message as Reply | undefined;
    if (reply) {
      if (reply.seq === seq) return reply;
      continue;
    }
    const left = deadline - performance.now();
    if (left <= 0 || Atomics.wait(b.signal, 0, 0, left) === 'timed-out') return undefined;
    Atomics.store(b.signal, 0, 0);
  }
}

/** Drops the bridge's replica of `instance`, if it has one. Does not wait. */
export function releaseOnBridge(instance: InstanceRef): void {
  if (!bridge?.replicas.delete(instance.id)) return;
  bridge.port.postMessage({ op: 'release', seq: bridge.nextSeq++, instance: instance.id } satisfies Request);
}

/** Ends the bridge worker (it is unref'd, so this is only needed for a tidy shutdown). */
export async function closeBridge(): Promise<void> {
  const b = bridge;
  bridge = undefined;
  if (b) await b.worker.terminate();
}
