/**
 * The registry: every wrapped function, class and error class, keyed by where it was
 * registered (module URL + call site). The same module evaluated in a worker registers the
 * same keys, which is how a worker finds the user's code again, and what it cannot find
 * (code registered in the entry module, or at an unknown site) is refused here, with the fix.
 *
 * State lives on `globalThis` so that the ESM and CommonJS builds of smartasync, both loaded
 * in one thread (an ESM worker entry importing a CommonJS user module), share one registry.
 */
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLED_INTO, callAt, describeSite, tailCallsDropFrames, userCallSite, type CallSite } from './call-site.ts';
import { takeBundledSite, BUNDLE_URL_PREFIX, type BundledModule } from './bundle.ts';

/** What kind of thing a registration holds. */
export type RegistrationKind = 'function' | 'class' | 'error' | 'store';

/** One registered function, class, error class or carried AsyncLocalStorage. */
export interface Registration {
  readonly key: string;
  readonly kind: RegistrationKind;
  /** A function or class; for a store, the AsyncLocalStorage. */
  readonly target: Function | object;
  /** The user's name for it, for messages: `hashPassword()`, `class UserRepo`. */
  readonly label: string;
  readonly site: CallSite | undefined;
  /** Made in a module of a plugin-built bundle: that module, and the registration's rank in it (from 1). */
  readonly bundled?: { readonly module: BundledModule; readonly ordinal: number };
  /** `file:line:column`, or a note that the site is unknown. */
  readonly where: string;
  /** Classes: how a worker builds a replica when the constructor arguments cannot be sent. */
  readonly replica?: () => unknown;
}

interface RegistryState {
  readonly byKey: Map<string, Registration>;
  readonly byTarget: WeakMap<object, Registration>;
  /** Modules whose import (in a worker) has been requested: URL → import promise. */
  readonly imports: Map<string, Promise<unknown>>;
}

const STATE_KEY = Symbol.for('smartasync.registry.v1');
const state: RegistryState = ((globalThis as Record<symbol, unknown>)[STATE_KEY] ??= {
  byKey: new Map(),
  byTarget: new WeakMap(),
  imports: new Map(),
}) as RegistryState;

/** The name a function or class was given ('' for a store). */
export function nameOf(reg: Pick<Registration, 'target'>): string {
  return typeof reg.target === 'function' ? reg.target.name : '';
}

function baseLabel(kind: RegistrationKind, target: Function | object): string {
  if (kind === 'store') return 'an AsyncLocalStorage';
  if (typeof target !== 'function') return String(target);
  const name = target.name || '(anonymous)';
  return kind === 'function' ? `${name}()` : `class ${name}`;
}

/**
 * Registers `target`, keyed by the user's call site (plus `discriminator` where several
 * registrations share one site, as decorators called from a compiler helper do). Registering
 * the same target again returns the first registration, unless it brings another `replica`
 * factory; a different target at the same site (the module was evaluated again, as test
 * runners do) replaces it.
 */
export function register(
  kind: RegistrationKind,
  target: Function | object,
  discriminator = '',
  replica?: () => unknown,
): Registration {
  const existing = state.byTarget.get(target);
  // The same class wrapped again with another replica factory needs a registration of its own.
  if (existing && existing.kind === kind && existing.replica === replica) return existing;
  const bundled = takeBundledSite();
  // Bundled without the plugin, smartasync's frames and the user's share one file: no site.
  const site = bundled || BUNDLED_INTO ? undefined : userCallSite();
  const label = baseLabel(kind, target);
  let key: string;
  let where: string;
  if (bundled) {
    // Order, not position: positions differ between the app's bundle and the worker's.
    key = `${kind}:${BUNDLE_URL_PREFIX}${bundled.module.id}#${bundled.ordinal}${discriminator}`;
    where = `${bundled.module.id} (its registration #${bundled.ordinal}, in a bundle)`;
  } else if (site) {
    key = `${kind}:${site.moduleUrl}:${site.line}:${site.column}${discriminator}`;
    where = describeSite(site);
  } else {
    key = `${kind}:unknown:${label}`;
    where = BUNDLED_INTO ? `${BUNDLED_INTO} (a bundle)` : 'an unknown location (no stack frame outside smartasync)';
  }
  const shown = kind === 'store' ? `the AsyncLocalStorage carried from ${where}` : label;
  const reg: Registration = { key, kind, target, label: shown, site, bundled, where, replica };
  state.byKey.set(key, reg);
  if (!existing) state.byTarget.set(target, reg);
  return reg;
}

/** How messages name a registered function (`hash()`), class, or a method of a class (`Repo#find()`). */
export function labelOf(reg: Registration, method?: string): string {
  return method === undefined ? reg.label : `${nameOf(reg)}#${method}()`;
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

function realFile(file: string): string | undefined {
  for (const candidate of [
    file,
    `${file}.js`,
    `${file}.mjs`,
    `${file}.cjs`,
    `${file}.ts`,
    `${file}.mts`,
    `${file}.cts`,
  ]) {
    try {
      if (fs.statSync(candidate).isFile()) return fs.realpathSync(candidate);
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

let entryFile: string | undefined | null = null;

/**
 * Whether `moduleUrl` is the module the process was started with (`node server.js`). A worker
 * importing it would run the whole program again, so such code cannot be offloaded.
 */
function isEntryModule(moduleUrl: string): boolean {
  if (!isMainThread || !moduleUrl.startsWith('file:')) return false;
  if (entryFile === null) entryFile = process.argv[1] ? realFile(path.resolve(process.argv[1])) : undefined;
  if (!entryFile) return false;
  return realFile(fileURLToPath(moduleUrl)) === entryFile;
}

const findable = new WeakSet<Registration>();

/** Where the README explains bundled apps, for messages. */
export const BUNDLER_HELP =
  "add smartasync's bundler plugin to the build (from 'smartasync/bundler': smartasyncEsbuild() for esbuild, " +
  'smartasyncRollup() for Rollup, smartasyncVite() for Vite): see "Bundled apps" in smartasync\'s README';

/**
 * Under Bun the entry module's line may be a call to the user's own function, which called
 * smartasync(...) in its return statement: the frame in between is gone (a tail call).
 */
function tailCallReason(reg: Registration, site: NonNullable<Registration['site']>): string | undefined {
  const call = tailCallsDropFrames ? callAt(site) : undefined;
  if (!call || call.ownNames.has(call.callee)) return undefined;
  return (
    `smartasync: cannot offload ${reg.label}: the stack shows its registration at ${reg.where}, ` +
    `a call to ${call.callee}() in the module this process was started with. Bun leaves no stack frame ` +
    `of a function that returns a call's result directly (a tail call), so smartasync(...) most likely ` +
    `runs inside ${call.callee}(), after its module was loaded, and a worker importing that module would ` +
    `not register it. Move the smartasync(...) call out of ${call.callee}(), to the top level of its module.`
  );
}

/** Why a worker could never find `reg` again, with the fix; undefined when it can. */
export function unfindableReason(reg: Registration): string | undefined {
  if (findable.has(reg)) return undefined;
  if (reg.bundled?.module.entry) {
    return (
      `smartasync: cannot offload ${reg.label}: it is registered in ${reg.bundled.module.id}, an entry module of your bundle. ` +
      'A worker finds it by evaluating its module, which would run your whole program again (start the server, parse argv, ...). ' +
      `Move ${reg.label} and its smartasync(...) call into a module of its own and import it from here.`
    );
  }
  if (!reg.bundled && BUNDLED_INTO) {
    return (
      `smartasync: cannot offload ${reg.label}: smartasync was bundled into ${BUNDLED_INTO} together with the code that registered it, ` +
      "without smartasync's bundler plugin, so a worker can find neither that code nor smartasync's worker entry. " +
      `To fix it, ${BUNDLER_HELP}.`
    );
  }
  if (reg.bundled) {
    findable.add(reg);
    return undefined;
  }
  if (!reg.site) {
    return (
      `smartasync: cannot offload ${reg.label}: its registration site is unknown, so a worker cannot find it. ` +
      'Call smartasync(...) at the top level of an ES or CommonJS module file.'
    );
  }
  if (isEntryModule(reg.site.moduleUrl)) {
    return (
      tailCallReason(reg, reg.site) ??
      `smartasync: cannot offload ${reg.label}: it is registered in ${reg.where}, the module this process was started with. ` +
        'A worker finds it by importing its module, which would run your whole program again (start the server, parse argv, ...). ' +
        `Move ${reg.label} and its smartasync(...) call into a module of its own and import it from here. ` +
        `If that file is the output of a bundler (esbuild, Rollup, Vite), ${BUNDLER_HELP}.`
    );
  }
  findable.add(reg);
  return undefined;
}
