/**
 * One call as the engine (the pool and the sync bridge) sees it: what to run, on which
 * instance, with which options. The API layer builds Tasks; the engine runs them.
 */
import type { CloneReport } from '../wire/values.ts';
import type { Registration } from '../registry/registry.ts';
import type { CallOptions } from '../types.ts';
import type { CallProfile } from './profile.ts';

/** An instance whose methods run on worker replicas. Owned by the API layer, placed by the pool. */
export interface InstanceRef {
  readonly id: number;
  /** The class's registration: how a worker finds the class to build a replica. */
  readonly reg: Registration;
  readonly label: string;
  readonly ctorArgs: unknown[];
  /** undefined when the constructor arguments are plain JSON data. */
  readonly ctorReport: CloneReport | undefined;
  readonly pinned: boolean;
}

/** The value a carried AsyncLocalStorage held when a call was made. */
export interface CarriedValue {
  /** The store's registration (`carryContext`). */
  readonly reg: Registration;
  readonly value: unknown;
  /** undefined when the value is plain JSON data. */
  readonly report: CloneReport | undefined;
}

/** One call to run elsewhere. */
export interface Task {
  readonly reg: Registration;
  /** For messages: `hash()`, `UserRepo#find()`. */
  readonly label: string;
  readonly args: unknown[];
  /** undefined when the arguments are plain JSON data. */
  readonly argsReport: CloneReport | undefined;
  readonly instance?: InstanceRef;
  readonly method?: string;
  readonly options?: CallOptions;
  /** Holds the caller's stack (formatted only if an error needs it). */
  readonly caller?: { readonly stack?: string };
  /** What is known of this function or method's calls; the engine adds each run to it. */
  readonly profile: CallProfile;
  /** Settle with the result as JSON text made on the worker (`f.json()`). */
  readonly resultAsJson?: boolean;
  /** A generator whose items stream back: the worker may run this many items ahead. */
  readonly stream?: number;
  /** Told which replica fields a method changed; asks the worker to watch. */
  readonly onChanged?: (fields: string[]) => void;
  /**
   * An async body (`offloadAsync`): it leaves its worker's thread free while it awaits, so it
   * never holds a worker alone and never takes the express worker, whatever it takes to settle.
   */
  readonly isAsync?: boolean;
  /** The carried stores that held a value when the call was made. */
  readonly context?: readonly CarriedValue[];
}

// Which instance object stands for which InstanceRef: set by the API layer when it wraps an
// instance, read by the pool's warm(instance).
const refs = new WeakMap<object, InstanceRef>();

/** Records that `holder` (a wrapped or `@offloadable` instance) is the instance `ref`. */
export function bindInstanceRef(holder: object, ref: InstanceRef): void {
  refs.set(holder, ref);
}

/** The InstanceRef of a wrapped or `@offloadable` instance, if `value` is one. */
export function instanceRefOf(value: unknown): InstanceRef | undefined {
  return typeof value === 'object' && value !== null ? refs.get(value) : undefined;
}

/** The error for a call whose arguments the transport could not encode (the check let them pass). */
export function unsendable(task: Task, err: unknown): TypeError {
  const why = (err as Error | null)?.message ?? String(err);
  return new TypeError(`smartasync: the arguments of ${task.label} cannot be sent to another thread: ${why}`, {
    cause: err,
  });
}
