/**
 * The caller's context, on this side: the AsyncLocalStorage values a call carries (see
 * `carryContext`) are set in the same stores here (this thread's instances of them, found as a
 * worker finds any registered code) around the call's body, so that `store.getStore()` in the
 * user's code reads a copy of what the caller had. Nothing is written back.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { lookupKey, type Registration } from '../registry/registry.ts';
import { isPlainJson, restoreBuffers } from '../wire/values.ts';
import type { ContextPart, TargetDef } from '../wire/protocol.ts';
import { findTarget } from './load.ts';

/** Runs `body` inside the carried stores. */
export type Within = <T>(body: () => T) => T;

export class CarriedStores {
  /**
   * Definitions by id, shared with the executor's targets (ids are shared too): a store's
   * definition may come with a call, or with a warm-up's prepare request, which names every
   * registration, stores included.
   */
  private readonly defs: Map<number, TargetDef>;
  private readonly stores = new Map<number, AsyncLocalStorage<unknown>>();
  /**
   * The value last sent for each store, as received: a call that sends none gets a copy of it
   * (each call starts from the caller's value, whatever an earlier call did to its own copy).
   */
  private readonly values = new Map<number, Received>();

  constructor(defs: Map<number, TargetDef>) {
    this.defs = defs;
  }

  /** Keeps what `parts` define (even for a call revoked before it runs: each is sent once). */
  note(parts: readonly ContextPart[] | undefined): void {
    if (!parts) return;
    for (const part of parts) {
      if (part.def) this.defs.set(part.store, part.def);
      if (part.fresh) this.values.set(part.store, new Received(restoreBuffers(part.value, part.buffers)));
    }
  }

  /** How to run a call carrying `parts` inside their stores; a promise when a store's module must be loaded first. */
  within(parts: readonly ContextPart[] | undefined): Within | undefined | Promise<Within | undefined> {
    if (!parts || parts.length === 0) return undefined;
    const missing = parts.filter((part) => !this.stores.has(part.store));
    if (missing.length === 0) return this.runner(parts);
    return Promise.all(missing.map((part) => this.find(part.store))).then(() => this.runner(parts));
  }

  private async find(id: number): Promise<void> {
    const def = this.defs.get(id);
    if (!def) throw new Error(`smartasync: unknown context store ${id} in worker.`);
    const reg: Registration = lookupKey(def.key) ?? (await findTarget(def));
    this.stores.set(id, reg.target as AsyncLocalStorage<unknown>);
  }

  private runner(parts: readonly ContextPart[]): Within {
    const entered = parts.map((part) => [this.stores.get(part.store)!, this.values.get(part.store)?.copy()] as const);
    return <T>(body: () => T): T => {
      let run = body;
      for (const [store, value] of entered) {
        const inner = run;
        run = () => store.run(value, inner);
      }
      return run();
    };
  }
}

/** A carried value as received, copied for each call that uses it. */
class Received {
  private readonly value: unknown;
  /** Its JSON text, for a plain object: parsing a copy is the cheapest deep copy. */
  private readonly text: string | undefined;
  private given = false;

  constructor(value: unknown) {
    this.value = value;
    this.text = typeof value === 'object' && value !== null ? jsonOf(value) : undefined;
  }

  /** The value for one call: the received object itself the first time, a copy after. */
  copy(): unknown {
    if (typeof this.value !== 'object' || this.value === null) return this.value;
    if (!this.given) {
      this.given = true;
      return this.value;
    }
    return this.text !== undefined ? JSON.parse(this.text) : structuredClone(this.value);
  }
}

/** JSON text that parses back to an equal value, or undefined (a Map, a Date, a cycle...). */
function jsonOf(value: object): string | undefined {
  try {
    const text = JSON.stringify(value);
    return isPlainJson(value) ? text : undefined;
  } catch {
    return undefined;
  }
}
