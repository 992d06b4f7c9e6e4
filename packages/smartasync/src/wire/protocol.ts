/**
 * The messages between a calling thread and a smartasync worker. Everything here must
 * survive structured clone; the transport moves these without looking inside.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import type { ValuePath } from './values.ts';
import type { ChannelEnds } from './transport.ts';
import type { ThrownData } from './thrown.ts';

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

/** Run a registered function, or a method on a replica. */
export interface CallRequest {
  readonly op: 'call';
  /** Per-worker sequence number: tells which calls a worker has started. */
  readonly seq: number;
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
  /** Own fields of the replica the method changed, when asked to watch. */
  readonly changedFields?: string[];
  /**
   * Streams only: true on a chunk (`value` is `{ items }`), more to come; a stream's last reply
   * has it false and `value` `{ items, returned }` (or an error, `ok` false).
   */
  readonly more?: boolean;
}

/** The value of a stream's chunk or last reply. */
export interface StreamChunk {
  readonly items: unknown[];
  /** The generator's return value, on the last reply. */
  readonly returned?: unknown;
}

/**
 * The shared control words of a pool worker. CTRL_CLAIMED only grows, and only by
 * compare-and-swap: the worker claims request `seq` before running it (CLAIMED: seq-1 → seq),
 * and the caller may revoke requests the worker has not claimed yet (CLAIMED: c → last) to run
 * them elsewhere. Whoever wins the swap owns the request, so none runs twice.
 */
export const CTRL_RUNNING = 0; // seq of the call executing synchronously now, 0 when none
export const CTRL_CLAIMED = 1; // highest seq claimed by the worker or revoked by the caller
export const CTRL_SINCE = 2; // when the running call started: Date.now() - WorkerBoot.epoch
export const CTRL_WORDS = 3;

/** What a smartasync worker receives as `workerData`, under the MARK key. */
export interface WorkerBoot {
  readonly role: 'pool' | 'bridge';
  /** Pool workers only: the control words (CTRL_*). */
  readonly ctrl?: SharedArrayBuffer;
  /** Date.now() when the pool started: CTRL_SINCE counts from it to fit 32 bits. */
  readonly epoch?: number;
  /** Its end of the channel to the thread that calls it. */
  readonly channel?: ChannelEnds;
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
