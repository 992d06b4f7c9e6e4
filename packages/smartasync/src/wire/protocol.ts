/**
 * The messages between a calling thread and a smartasync worker. Everything here must
 * survive structured clone; the transport moves these without looking inside.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { restoreBuffers, type ValuePath } from './values.ts';
import type { ChannelEnds } from './transport.ts';
import type { ThrownData } from './thrown.ts';
import type { TraceCarrier } from './otel.ts';

/** How a worker finds user code: sent with the first call that needs it, then referred to by id. */
export interface TargetDef {
  readonly id: number;
  readonly key: string;
  readonly moduleUrl: string;
  readonly label: string;
  readonly where: string;
}

/** The instance a method call runs on: the worker builds a replica from `ctorArgs` once. */
export interface InstancePart {
  readonly id: number;
  readonly method: string;
  /** Sent until the worker is known to hold the replica. */
  readonly ctorArgs?: unknown[];
  readonly ctorBuffers?: ValuePath[];
}

/**
 * The value an AsyncLocalStorage of the caller's (one registered with `carryContext`) held at
 * the call: the worker runs the call inside the same store, holding a copy of it.
 */
export interface ContextPart {
  /** The store's id (ids are shared with targets). */
  readonly store: number;
  /** Its definition, the first time this worker hears of the store. */
  readonly def?: TargetDef;
  /** True when `value` is sent; else the worker uses the value it was sent last for this store. */
  readonly fresh?: boolean;
  readonly value?: unknown;
  readonly buffers?: ValuePath[];
}

/** Run a registered function, or a method on a replica. */
export interface CallRequest {
  readonly op: 'call';
  /** Per-worker sequence number: names the call in replies and signals. */
  readonly seq: number;
  /**
   * Pool workers: the claim slot (index into the control words after CTRL_SLOTS) that the
   * worker must win before it runs the call; the caller may revoke it until then.
   */
  readonly slot?: number;
  readonly target: number;
  readonly def?: TargetDef;
  readonly args: unknown[];
  readonly argBuffers?: ValuePath[];
  readonly instance?: InstancePart;
  /** Report own fields of the replica that the method changed (development aid). */
  readonly watchFields?: boolean;
  /** Reply with the result as JSON text, made here: the caller passes it on without parsing. */
  readonly resultAsJson?: boolean;
  /** Measure the time the call wanted a CPU too (for calls that may be long: the scheduler asks). */
  readonly measureCpu?: boolean;
  /**
   * A generator's items, streamed: the worker may send this many items before the caller
   * grants more (`PullSignal`). Replies come as chunks (`Reply.more`), then a last one.
   */
  readonly stream?: number;
  /** The carried AsyncLocalStorage values the call runs inside. */
  readonly context?: ContextPart[];
  /** The caller's OpenTelemetry span for the call: spans opened there are its children. */
  readonly trace?: TraceCarrier;
}

/** Lets a stream's worker send `credit` more items. Not numbered: it is about call `seq`. */
export interface PullSignal {
  readonly op: 'pull';
  readonly seq: number;
  readonly credit: number;
}

/** Ends a stream early (the consumer stopped): the generator's `finally` runs there. */
export interface CancelSignal {
  readonly op: 'cancel';
  readonly seq: number;
}

/**
 * Import a target's module, and build an instance's replica, ahead of the first call
 * (`warm()`), so that the first call costs what later ones do.
 */
export interface PrepareRequest {
  readonly op: 'prepare';
  readonly seq: number;
  readonly target: number;
  readonly def?: TargetDef;
  readonly instance?: Omit<InstancePart, 'method'>;
}

/** Drop the replica of an instance, disposing it (`Symbol.dispose`, `close()`). */
export interface ReleaseRequest {
  readonly op: 'release';
  readonly seq: number;
  readonly instance: number;
}

/** Main → worker: numbered requests, each answered by one Reply (a stream: by its last one). */
export type Request = CallRequest | ReleaseRequest | PrepareRequest;

/** Main → worker: all that may be sent. Signals are about a stream already running. */
export type Message = Request | PullSignal | CancelSignal;

/** Worker → main: the outcome of one request. */
export interface Reply {
  readonly seq: number;
  readonly ok: boolean;
  /** The result when `ok`, else the encoded thrown value. */
  readonly value: unknown;
  readonly buffers?: ValuePath[];
  /** Milliseconds the call ran in the worker. */
  readonly runMs: number;
  /** Of those, milliseconds it wanted a CPU (on one, or waiting for one), when the request asked. */
  readonly cpuMs?: number;
  /**
   * For a call that ran long: of `runMs`, about how long its thread waited for a CPU (preempted
   * on a busy machine), which says nothing of the call itself.
   */
  readonly waitMs?: number;
  /** Own fields of the replica the method changed, when asked to watch. */
  readonly changedFields?: string[];
  /**
   * Streams only: true on a chunk (`value` is `{ items }`), more to come; a stream's last reply
   * has it false and `value` `{ items, returned }` (or an error, `ok` false).
   */
  readonly more?: boolean;
  /**
   * Streams only: the items, when they are long strings (NDJSON text, say), sent as raw UTF-8
   * beside the JSON (the transport's `texts`); `value.items` is then empty.
   */
  readonly texts?: string[];
}

/** A reply's value as the caller gets it: its Buffers restored, a stream's texts back as items. */
export function replyValue(reply: Reply): unknown {
  const value = restoreBuffers(reply.value, reply.buffers);
  return reply.texts ? { ...(value as StreamChunk), items: reply.texts } : value;
}

/** The value of a stream's chunk or last reply. */
export interface StreamChunk {
  readonly items: unknown[];
  /** The generator's return value, on the last reply. */
  readonly returned?: unknown;
}

/**
 * The shared control words of a worker. Each call sent to a pool worker holds a claim slot: the
 * caller stores the call's tag there, and the worker runs the call only if it swaps the tag for
 * its negative (claimed); the caller may swap it for 0 first (revoked), to run the call
 * elsewhere or never. Whoever wins the swap owns the call, so none runs twice and a call
 * reported as never started never starts.
 */
export const CTRL_RUNNING = 0; // tag of the call executing synchronously now, 0 when none
export const CTRL_SINCE = 1; // when that call started: Date.now() - WorkerBoot.epoch
export const CTRL_STOP = 2; // tag of a stream whose reader stopped: its generator ends at its next item
export const CTRL_READY = 3; // 1 once the worker serves requests: an exit before that is a failed start
export const CTRL_TID = 4; // the worker thread's id in the operating system (Linux), 0 if unknown
export const CTRL_SLOTS = 5; // the claim slots begin here

/** A call's tag in the control words: never 0, and unique among a worker's calls in flight. */
export function tagOf(seq: number): number {
  return ((seq - 1) % 0x3fffffff) + 1;
}

/** What a smartasync worker receives as `workerData`, under the MARK key. */
export interface WorkerBoot {
  readonly role: 'pool' | 'bridge';
  /** The control words (CTRL_*); a bridge has no claim slots. */
  readonly ctrl: SharedArrayBuffer;
  /** Date.now() when the pool started: CTRL_SINCE counts from it to fit 32 bits. */
  readonly epoch?: number;
  /** Its end of the channel to the thread that calls it. */
  readonly channel?: ChannelEnds;
  /** Pool workers: one word shared by the pool's workers, counting those polling for a request now. */
  readonly spinners?: SharedArrayBuffer;
  /** Pool workers: nice steps below the thread that started the pool (`PoolOptions.workerNice`). */
  readonly nice?: number;
}

/** `workerData` key that marks a smartasync worker. */
export const MARK = 'smartasync.worker.v1';

/** Set when this thread is a smartasync worker (pool or sync bridge): its boot data. */
export const workerBoot: WorkerBoot | undefined = isMainThread
  ? undefined
  : ((workerData as Record<string, unknown> | null)?.[MARK] as WorkerBoot | undefined);

/** Inside a smartasync worker, sync bodies run inline: no nested offload. */
export const inSmartasyncWorker = workerBoot !== undefined;

export type { ThrownData };
