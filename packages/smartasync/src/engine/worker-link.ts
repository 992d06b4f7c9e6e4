/**
 * The calling thread's handle on one worker thread, a pool worker or the sync bridge: it
 * starts the worker with its end of a channel, reads the shared control words, and turns
 * Tasks into the requests that worker needs, sending definitions and constructor arguments
 * only the first time.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Channel, createChannelEnds, type Encoding } from '../wire/transport.ts';
import { encodingOf } from '../wire/values.ts';
import {
  CTRL_READY,
  CTRL_RUNNING,
  CTRL_SINCE,
  CTRL_SLOTS,
  CTRL_STOP,
  CTRL_TID,
  MARK,
  tagOf,
  type CallRequest,
  type CancelSignal,
  type ContextPart,
  type Message,
  type PrepareRequest,
  type PullSignal,
  type ReleaseRequest,
  type Reply,
  type Request,
  type TargetDef,
  type WorkerBoot,
} from '../wire/protocol.ts';
import { BUNDLER_HELP, type Registration } from '../registry/registry.ts';
import { BUNDLED_INTO, OWN_FILE } from '../registry/call-site.ts';
import { bundleWorker } from '../registry/bundle.ts';
import { RegistrationError } from '../errors.ts';
import type { CarriedValue, InstanceRef, Task } from './task.ts';
import type { TraceCarrier } from '../wire/otel.ts';
import type { PoolOptions, TransferItem } from '../types.ts';

/** smartasync's own worker entry: beside this code (dist/worker.js), or the source when run from src/. */
const ownWorkerScript: URL | undefined = OWN_FILE
  ? new URL(OWN_FILE.endsWith('.ts') ? '../worker/worker.ts' : './worker.js', pathToFileURL(OWN_FILE))
  : undefined;

let checkedScript: URL | undefined;

/**
 * The worker entry: the one a plugin-built bundle brought, else smartasync's own. A missing
 * file is refused here, with the fix, rather than left to fail in every worker started.
 */
function workerScript(): URL {
  const bundled = bundleWorker();
  if (!bundled && BUNDLED_INTO) {
    // Whatever lies beside the bundle is not smartasync's worker entry.
    throw new RegistrationError(
      `smartasync: cannot start a worker: smartasync was bundled into ${BUNDLED_INTO} without its bundler plugin, ` +
        `so the bundle has no worker entry. To fix it, ${BUNDLER_HELP}.`,
    );
  }
  const script = bundled ? new URL(bundled) : ownWorkerScript;
  if (script && script.href === checkedScript?.href) return script;
  const file = script?.protocol === 'file:' ? fileURLToPath(script) : undefined;
  if (!script || (file && !existsSync(file))) {
    const shown = file ?? 'smartasync/dist/worker.js';
    throw new RegistrationError(
      bundled
        ? `smartasync: the worker entry ${shown} is missing. smartasync's bundler plugin writes it beside your bundle: deploy it with the bundle, in the same folder.`
        : `smartasync: its worker entry ${shown} is missing: reinstall smartasync.`,
    );
  }
  checkedScript = script;
  return script;
}

// Target ids are per calling thread, shared by all its workers.
const targetIds = new Map<Registration, TargetDef>();

function targetDef(reg: Registration): TargetDef {
  let def = targetIds.get(reg);
  if (!def) {
    def = {
      id: targetIds.size + 1,
      key: reg.key,
      moduleUrl: reg.site?.moduleUrl ?? reg.bundled?.module.url ?? '',
      label: reg.label,
      where: reg.where,
    };
    targetIds.set(reg, def);
  }
  return def;
}

/**
 * How large each worker's young generation (where new objects start) may grow, in MB, unless
 * `resourceLimits.maxYoungGenerationSizeMb` says otherwise. 48 makes 16 MB semi-spaces (32 MB
 * of new space), the most Node 20 allowed. Node 24 lets V8 grow them, step by step under a
 * steady stream of calls, to 64 MB, and keeps them while calls keep coming: a worker whose
 * live heap is 10 MB then holds 140 MB. Calls leave little behind that outlives them, so the
 * smaller young generation costs them nothing measurable (issue 8: bench/soak.ts and the
 * throughput section of the benchmark).
 */
export const DEFAULT_YOUNG_GENERATION_MB = 48;

/** How to start a worker. */
export interface LinkOptions extends Pick<PoolOptions, 'resourceLimits' | 'execArgv'> {
  readonly role: WorkerBoot['role'];
  readonly name: string;
  /** Pool workers: Date.now() when the pool started (the control words count from it). */
  readonly epoch?: number;
  /** Pool workers: claim slots, one per call the worker may hold at once. */
  readonly slots?: number;
  /** Pool workers: the word, shared by the pool's workers, that counts those polling now. */
  readonly spinners?: SharedArrayBuffer;
  /** Nice steps below this thread the worker runs at (Linux; see `PoolOptions.workerNice`). */
  readonly nice?: number;
  /** Where replies go; without it the caller reads them itself (`channel.receiveSync`). */
  readonly onReplies?: (replies: Reply[]) => void;
}

/**
 * Whether this process may run on one core only (taskset, a one-CPU container). Only there is
 * the event loop's reader told when the worker holds none of its calls, so that it goes dormant:
 * the worker woken by the next call runs while the caller pays the wake-up, and the reply is
 * read in the same task (a 1-core round trip: 25 -> 16 µs). With a core to spare the worker
 * answers later, so the reader must register its wait (Atomics.waitAsync, about 3 µs) after the
 * send: it then holds the lock of V8's wait list just as the woken worker needs it, and delays
 * it by as much. Registered while idle, after the previous reply, it costs the next call nothing
 * (spaced calls at 1 ms gaps: 0.92x the median; back-to-back round trips on 2 cores: 1.03x).
 */
const ONE_CORE = availableParallelism() === 1;

/** A request and how the transport is to encode it. */
export interface Outgoing<R extends Request = Request> {
  readonly request: R;
  readonly encoding: Encoding;
}

export class WorkerLink {
  readonly worker: Worker;
  readonly channel: Channel<Message, Reply>;
  /** Target ids this worker has been sent a definition of. */
  readonly known = new Set<number>();
  /** Instance ids this worker has been sent constructor arguments of. */
  readonly replicas = new Set<number>();
  /** The value this worker was sent last for each carried store (by store id). */
  private readonly lastContext = new Map<number, unknown>();
  nextSeq = 1;
  readonly ctrl: Int32Array;
  /** The worker thread's name: `smartasync-1`, `smartasync-express`, `smartasync-sync-bridge`. */
  readonly name: string;
  private readonly epoch: number;
  /** Claim slots no call holds now. */
  private readonly freeSlots: number[];

  constructor(options: LinkOptions) {
    const script = workerScript();
    const { port1, port2 } = new MessageChannel();
    const ends = createChannelEnds(port1, port2);
    this.name = options.name;
    const slots = options.slots ?? 0;
    const ctrl = new SharedArrayBuffer((CTRL_SLOTS + slots) * 4);
    this.ctrl = new Int32Array(ctrl);
    this.freeSlots = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    this.epoch = options.epoch ?? 0;
    const boot: WorkerBoot = {
      role: options.role,
      ctrl,
      epoch: options.epoch,
      channel: ends.there,
      spinners: options.spinners,
      nice: options.nice,
    };
    this.worker = new Worker(script, {
      workerData: { [MARK]: boot },
      transferList: [port2],
      resourceLimits: {
        ...options.resourceLimits,
        maxYoungGenerationSizeMb: options.resourceLimits?.maxYoungGenerationSizeMb ?? DEFAULT_YOUNG_GENERATION_MB,
      },
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
      name: options.name,
    });
    this.worker.unref(); // an idle worker never keeps the process alive
    port1.unref();
    const onReplies = options.onReplies;
    this.channel = onReplies
      ? new Channel(ends.here, onReplies, ONE_CORE ? { expectsNothing: () => this.expectsNothing() } : {})
      : new Channel(ends.here, () => {}, { receive: 'sync' });
  }

  /** Whether no reply or stream item can come before this thread sends the worker a request (see ChannelOptions). */
  protected expectsNothing(): boolean {
    return false;
  }

  // ---- the control words -----------------------------------------------------------------

  /** Whether the worker got as far as serving requests (an exit before is a failed start). */
  get ready(): boolean {
    return Atomics.load(this.ctrl, CTRL_READY) === 1;
  }

  /** A free claim slot for the call numbered `seq`, marked as not yet claimed. */
  takeSlot(seq: number): number {
    const slot = this.freeSlots.pop();
    if (slot === undefined) throw new Error(`smartasync: internal error: no free claim slot for call ${seq}`);
    Atomics.store(this.ctrl, CTRL_SLOTS + slot, tagOf(seq));
    return slot;
  }

  /** Gives back the slot of a call that settled or was revoked. */
  freeSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  /** Whether the worker has claimed (started) the call numbered `seq` in `slot`. */
  claimed(slot: number, seq: number): boolean {
    return Atomics.load(this.ctrl, CTRL_SLOTS + slot) === -tagOf(seq);
  }

  /**
   * Takes back the call numbered `seq` in `slot` unless the worker claimed it first (a
   * compare-and-swap against the worker's own): true means it will never run there.
   */
  revoke(slot: number, seq: number): boolean {
    const tag = tagOf(seq);
    return Atomics.compareExchange(this.ctrl, CTRL_SLOTS + slot, tag, 0) === tag;
  }

  /** Whether the worker has been inside one synchronous call for longer than `ms`. */
  stalled(now: number, ms: number): boolean {
    const ctrl = this.ctrl;
    return Atomics.load(ctrl, CTRL_RUNNING) !== 0 && now - this.epoch - Atomics.load(ctrl, CTRL_SINCE) > ms;
  }

  /** Milliseconds the call running synchronous code now has run (0 if none). */
  runningFor(now: number): number {
    return Atomics.load(this.ctrl, CTRL_RUNNING) === 0 ? 0 : now - this.epoch - Atomics.load(this.ctrl, CTRL_SINCE);
  }

  /** The worker thread's id in the operating system, 0 where unknown. */
  get osThreadId(): number {
    return Atomics.load(this.ctrl, CTRL_TID);
  }

  /** Whether the call numbered `seq` is executing synchronous code right now. */
  running(seq: number): boolean {
    return Atomics.load(this.ctrl, CTRL_RUNNING) === tagOf(seq);
  }

  /** The seq tag of the call running synchronous code now, 0 if none. */
  runningTag(): number {
    return Atomics.load(this.ctrl, CTRL_RUNNING);
  }

  /**
   * Asks the generator of stream `seq` to end at its next item: the worker reads this word
   * between items, so a stream breaks off even while its generator runs a long synchronous
   * stretch (the cancel message also sent is read only when that stretch ends).
   */
  stopStream(seq: number): void {
    Atomics.store(this.ctrl, CTRL_STOP, tagOf(seq));
    this.signal({ op: 'cancel', seq }, true);
  }

  // ---- requests -------------------------------------------------------------------------
  // Building a request changes nothing; `send` records it once the channel took it, so a
  // request that could not be encoded leaves no trace (no gap in the numbering).

  /**
   * The request that runs `task`, numbered `nextSeq`. Absent parts stay undefined rather than
   * spread out: JSON omits them, and one literal of one shape is cheaper on this hot path.
   */
  callRequest(task: Task, measureCpu: boolean, slot?: number, trace?: TraceCarrier): Outgoing<CallRequest> {
    const def = this.newDef(task.reg);
    const inst = task.instance;
    const ctor = inst !== undefined && !this.replicas.has(inst.id);
    const request: CallRequest = {
      op: 'call',
      seq: this.nextSeq,
      slot,
      target: targetDef(task.reg).id,
      args: task.args,
      def,
      argBuffers: task.argsReport?.buffers,
      instance: inst
        ? {
            id: inst.id,
            method: task.method!,
            ctorArgs: ctor ? inst.ctorArgs : undefined,
            ctorBuffers: ctor ? inst.ctorReport?.buffers : undefined,
          }
        : undefined,
      watchFields: task.onChanged ? true : undefined,
      resultAsJson: task.resultAsJson || undefined,
      measureCpu: measureCpu || undefined,
      stream: task.stream,
      context: task.context && this.contextParts(task.context),
      trace,
    };
    const ctorReport = ctor ? inst.ctorReport : undefined;
    const encoding =
      task.argsReport || ctorReport || task.context
        ? encodingOf(task.argsReport, ctorReport, ...(task.context?.map((c) => c.report) ?? []))
        : 'json';
    return { request, encoding };
  }

  /**
   * The carried values of a call as this worker needs them: a value it was sent last for the
   * same store (the same object: one request's context, say) is not sent again.
   */
  private contextParts(carried: readonly CarriedValue[]): ContextPart[] {
    return carried.map(({ reg, value, report }) => {
      const id = targetDef(reg).id;
      const def = this.newDef(reg);
      if (this.lastContext.has(id) && this.lastContext.get(id) === value) return { store: id, def };
      return { store: id, def, fresh: true, value, buffers: report?.buffers };
    });
  }

  /** The request that loads `reg`'s module there, and builds `inst`'s replica if given. */
  prepareRequest(reg: Registration, inst: InstanceRef | undefined): Outgoing<PrepareRequest> {
    const ctor = inst !== undefined && !this.replicas.has(inst.id);
    const instance = inst
      ? {
          id: inst.id,
          ctorArgs: ctor ? inst.ctorArgs : undefined,
          ctorBuffers: ctor ? inst.ctorReport?.buffers : undefined,
        }
      : undefined;
    const request: PrepareRequest = {
      op: 'prepare',
      seq: this.nextSeq,
      target: targetDef(reg).id,
      def: this.newDef(reg),
      instance,
    };
    return { request, encoding: encodingOf(ctor ? inst.ctorReport : undefined) };
  }

  /** The request that drops (and disposes) the worker's replica of instance `id`. */
  releaseRequest(id: number): Outgoing<ReleaseRequest> {
    return { request: { op: 'release', seq: this.nextSeq, instance: id }, encoding: 'json' };
  }

  /**
   * Sends a request built above (it throws, having changed nothing, if the value cannot be
   * encoded) and records what the worker now knows.
   */
  send({ request, encoding }: Outgoing, options: { transfer?: readonly TransferItem[]; now?: boolean } = {}): void {
    this.channel.send(request, { encoding, transfer: options.transfer, now: options.now });
    this.nextSeq = request.seq + 1;
    if (request.op === 'release') {
      this.replicas.delete(request.instance);
      return;
    }
    if (request.def) this.known.add(request.def.id);
    if (request.instance?.ctorArgs) this.replicas.add(request.instance.id);
    if (request.op === 'call' && request.context) this.noteContext(request.context);
  }

  /** What the worker now holds of the carried stores (sent with a call it took). */
  private noteContext(parts: readonly ContextPart[]): void {
    for (const part of parts) {
      if (part.def) this.known.add(part.def.id);
      if (part.fresh) this.lastContext.set(part.store, part.value);
    }
  }

  /** Sends a signal about a stream in flight (not a request: it takes no number). */
  signal(message: PullSignal | CancelSignal, now = false): void {
    this.channel.send(message, { encoding: 'json', now });
  }

  /** The target's definition, the first time this worker hears of it. */
  private newDef(reg: Registration): TargetDef | undefined {
    const def = targetDef(reg);
    return this.known.has(def.id) ? undefined : def;
  }
}
