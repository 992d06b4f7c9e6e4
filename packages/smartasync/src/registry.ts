/**
 * The registry: every wrapped function, class and error class, keyed by where it was
 * registered (module URL + call site). The same module evaluated in a worker registers the
 * same keys, which is how a worker finds the user's code again.
 *
 * State lives on `globalThis` so that the ESM and CommonJS builds of smartasync, both loaded
 * in one thread (an ESM worker entry importing a CommonJS user module), share one registry.
 */
import { userCallSite, describeSite, type CallSite } from './callsite.ts';

/** What kind of thing a registration holds. */
export type RegistrationKind = 'function' | 'class' | 'error';

/** One registered function, class or error class. */
export interface Registration {
  readonly key: string;
  readonly kind: RegistrationKind;
  readonly target: Function;
  /** The user's name for it, for messages: `hashPassword()`, `class UserRepo`. */
  readonly label: string;
  readonly site: CallSite | undefined;
  /** `file:line:column`, or a note that the site is unknown. */
  readonly where: string;
}

interface RegistryState {
  readonly byKey: Map<string, Registration>;
  readonly byTarget: WeakMap<Function, Registration>;
  /** Modules whose import (in a worker) has been requested: URL → import promise. */
  readonly imports: Map<string, Promise<unknown>>;
}

const STATE_KEY = Symbol.for('smartasync.registry.v1');
const state: RegistryState = ((globalThis as Record<symbol, unknown>)[STATE_KEY] ??= {
  byKey: new Map(),
  byTarget: new WeakMap(),
  imports: new Map(),
}) as RegistryState;

function labelOf(kind: RegistrationKind, target: Function): string {
  const name = target.name || '(anonymous)';
  return kind === 'function' ? `${name}()` : `class ${name}`;
}

/**
 * Registers `target`, keyed by the user's call site (plus `discriminator` where several
 * registrations share one site, as decorators called from a compiler helper do). Registering the same target again
 * returns the first registration; a different target at the same site (the module was
 * evaluated again, as test runners do) replaces it.
 */
export function register(kind: RegistrationKind, target: Function, discriminator = ''): Registration {
  const existing = state.byTarget.get(target);
  if (existing && existing.kind === kind) return existing;
  const site = userCallSite();
  const key = site
    ? `${kind}:${site.moduleUrl}:${site.line}:${site.column}${discriminator}`
    : `${kind}:unknown:${labelOf(kind, target)}`;
  const reg: Registration = {
    key,
    kind,
    target,
    label: labelOf(kind, target),
    site,
    where: site ? describeSite(site) : 'an unknown location (no stack frame outside smartasync)',
  };
  state.byKey.set(key, reg);
  state.byTarget.set(target, reg);
  return reg;
}

/** Every registration made in this thread so far. */
export function allRegistrations(): Registration[] {
  return [...state.byKey.values()];
}

/** The registration under `key`, in this thread. */
export function lookupKey(key: string): Registration | undefined {
  return state.byKey.get(key);
}

/** The registry key of a registered error class, if it is one. */
export function keyOfErrorClass(ctor: Function): string | undefined {
  const reg = state.byTarget.get(ctor);
  return reg?.kind === 'error' ? reg.key : undefined;
}

/** Imports a module once per thread, so that its registrations run here too. */
export function importOnce(moduleUrl: string, load: (url: string) => Promise<unknown>): Promise<unknown> {
  let pending = state.imports.get(moduleUrl);
  if (!pending) {
    pending = load(moduleUrl);
    state.imports.set(moduleUrl, pending);
  }
  return pending;
}
