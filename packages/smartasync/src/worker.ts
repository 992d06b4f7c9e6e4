/**
 * The worker entry. It finds user code by importing the module that registered it, keeps a
 * replica per instance, runs calls in arrival order and answers each with a Reply.
 */
import module from 'node:module';
import { performance } from 'node:perf_hooks';
import { workerBoot } from './environment.ts';
import { lookupKey, importOnce, type Registration } from './registry.ts';
import { checkCloneable, isPlainJson, restoreBuffers } from './clone.ts';
import { encodeThrown, RegistrationError, WorkerCrashedError } from './errors.ts';
import { Channel } from './transport.ts';
import { disposeObject } from './dispose.ts';
import { toJsonText } from './json-text.ts';
import {
  CTRL_CLAIMED,
  CTRL_RUNNING,
  CTRL_SINCE,
  type CallRequest,
  type InstancePart,
  type PrepareRequest,
  type Reply,
  type Request,
  type TargetDef,
} from './protocol.ts';
import { parentPort } from 'node:worker_threads';

const TS_FILE = /\.[cm]?tsx?$/;
let tsResolution = false;

/**
 * Test runners (Vitest) and bundler-style TypeScript let users write `import './db'` without
 * an extension; Node's own loader does not. When a worker imports a TypeScript module we
 * teach Node those spellings, only as a fallback after normal resolution fails.
 */
function enableTypeScriptResolution(): void {
  if (tsResolution || typeof module.registerHooks !== 'function') return;
  tsResolution = true;
  module.registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (err) {
        if (!/^\.\.?\//.test(specifier) || !context.parentURL || !TS_FILE.test(context.parentURL)) throw err;
        const candidates = [
          specifier.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts'),
          `${specifier}.ts`,
          `${specifier}.tsx`,
          `${specifier}/index.ts`,
        ];
        for (const candidate of candidates) {
          if (candidate === specifier) continue;
          try {
            return next(candidate, context);
          } catch {
            // try the next spelling
          }
        }
        throw err;
      }
    },
  });
}

async function loadModule(url: string): Promise<unknown> {
  if (!TS_FILE.test(url)) return import(url);
  enableTypeScriptResolution();
  try {
    return await import(url);
  } catch (err) {
    // A runner that compiles TypeScript itself (Vitest, ts-node) accepts enums and parameter
    // properties; a worker on Node's type stripping does not. Say how to give it a loader.
    if ((err as { code?: unknown } | null)?.code !== 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') throw err;
    throw new Error(
      `${(err as Error).message}. Workers load TypeScript with Node's type stripping, which handles erasable syntax only: ` +
        "avoid enums, namespaces and parameter properties, or give the workers a TypeScript loader with configure({ execArgv: ['--import', 'tsx'] })",
      { cause: err },
    );
  }
}

async function findTarget(def: TargetDef): Promise<Registration> {
  const known = lookupKey(def.key);
  if (known) return known;
  try {
    await importOnce(def.moduleUrl, loadModule);
  } catch (err) {
    throw new RegistrationError(
      `smartasync: a worker could not import ${def.moduleUrl} to find ${def.label} (registered at ${def.where}): ` +
        `${(err as Error)?.message ?? String(err)}. The module must be importable on its own by Node in a worker ` +
        '(for TypeScript: run under tsx, or use erasable syntax that Node can strip).',
      { cause: err },
    );
  }
  const found = lookupKey(def.key);
  if (found) return found;
  throw new RegistrationError(
    `smartasync: ${def.label} was registered at ${def.where}, but importing that module in a worker did not register it again. ` +
      'smartasync() must run at module top level (not inside a function, a condition or a request handler), ' +
      'so that importing the module registers it. Move the smartasync(...) call to the top level of its module.',
  );
}

/** Runs requests in arrival order and answers each through `send`. */
/** For pool workers: the shared control words, and what to do when a call was revoked. */
interface PoolControl {
  readonly ctrl: Int32Array;
  readonly epoch: number;
  readonly onRevoked: () => void;
}

function createExecutor(send: (reply: Reply, json: boolean) => void, pool?: PoolControl): (req: Request) => void {
  const ctrl = pool?.ctrl;
  const epoch = pool?.epoch ?? 0;
  const targets = new Map<number, Registration>();
  const defs = new Map<number, TargetDef>();
  const replicas = new Map<number, Record<string, unknown>>();
  let waiting: Promise<void> | undefined; // set while a module import holds the line
  const claim = (seq: number): boolean => !ctrl || Atomics.compareExchange(ctrl, CTRL_CLAIMED, seq - 1, seq) === seq - 1;

  // An error crosses as JSON whenever it can (nearly always, see encodeThrown). v8's serializer,
  // the other encoding, leaves native memory behind per message until a full GC collects the
  // serializer object, which V8 does not hurry (it does not see that memory): a stream of
  // errors held hundreds of MB per worker that way (issue 8).
  const fail = (seq: number, err: unknown, started = performance.now(), cpuMs?: number): void => {
    const value = encodeThrown(err);
    send({ seq, ok: false, value, runMs: performance.now() - started, cpuMs }, isPlainJson(value));
  };

  const succeed = (req: CallRequest, reg: Registration, value: unknown, started: number, cpuMs?: number, changed?: string[]): void => {
    let report;
    try {
      if (req.resultAsJson) value = toJsonText(value);
      const label = req.instance ? `${reg.target.name}#${req.instance.method}()` : reg.label;
      report = checkCloneable(value, `the return value of ${label}`, 'result');
    } catch (err) {
      fail(req.seq, err, started, cpuMs);
      return;
    }
    const buffers = report?.buffers;
    const reply: Reply = { seq: req.seq, ok: true, value, runMs: performance.now() - started, cpuMs };
    send(
      buffers || changed ? { ...reply, ...(buffers ? { buffers } : {}), ...(changed ? { changedFields: changed } : {}) } : reply,
      report === undefined,
    );
  };

  // Constructor arguments arrive once per worker, possibly with a call that is then revoked:
  // keep them until the replica is built.
  const unbuilt = new Map<number, unknown[]>();

  const replicaFor = (part: Omit<InstancePart, 'method'>, reg: Registration): Record<string, unknown> => {
    let replica = replicas.get(part.id);
    if (!replica) {
      const args = unbuilt.get(part.id);
      if (!args) throw new RegistrationError(`smartasync: no replica of ${reg.label} for instance ${part.id} in this worker.`);
      const Ctor = reg.target as new (...args: unknown[]) => Record<string, unknown>;
      replica = new Ctor(...args);
      replicas.set(part.id, replica);
      unbuilt.delete(part.id);
    }
    return replica;
  };

  const run = (req: CallRequest, reg: Registration): void => {
    const started = performance.now();
    const cpuBefore = req.measureCpu ? threadCpuUsage?.() : undefined;
    if (ctrl) {
      Atomics.store(ctrl, CTRL_SINCE, Date.now() - epoch);
      Atomics.store(ctrl, CTRL_RUNNING, req.seq);
    }
    let result: unknown;
    let changed: string[] | undefined;
    let threw = false;
    try {
      const args = restoreBuffers(req.args, req.argBuffers);
      if (req.instance) {
        const replica = replicaFor(req.instance, reg);
        const method = replica[req.instance.method];
        if (typeof method !== 'function') {
          throw new TypeError(`smartasync: ${reg.label} has no method ${req.instance.method}() in the worker.`);
        }
        const before = req.watchFields ? snapshot(replica) : undefined;
        result = (method as (...a: unknown[]) => unknown).apply(replica, args);
        if (before) changed = changedFields(before, replica);
      } else {
        const fn = reg.target as (...a: unknown[]) => unknown; // called bare: stack frames show the user's name
        result = fn(...args);
      }
    } catch (err) {
      threw = true; // whatever was thrown, `undefined` included
      result = err;
    }
    if (ctrl) Atomics.store(ctrl, CTRL_RUNNING, 0);
    const cpuMs = cpuBefore && cpuMsSince(cpuBefore);
    if (threw) fail(req.seq, result, started, cpuMs);
    else if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => succeed(req, reg, value, started, cpuMs, changed),
        (err: unknown) => fail(req.seq, err, started, cpuMs),
      );
    } else {
      succeed(req, reg, result, started, cpuMs, changed);
    }
  };

  // warm(): the module is loaded by now; build the replica if asked.
  const prepare = (req: PrepareRequest, reg: Registration): void => {
    try {
      if (req.instance) replicaFor(req.instance, reg);
      send({ seq: req.seq, ok: true, value: undefined, runMs: 0 }, true);
    } catch (err) {
      fail(req.seq, err);
    }
  };

  const release = async (seq: number, id: number): Promise<void> => {
    const replica = replicas.get(id);
    replicas.delete(id);
    unbuilt.delete(id);
    try {
      await disposeObject(replica);
      send({ seq, ok: true, value: undefined, runMs: 0 }, true);
    } catch (err) {
      fail(seq, err);
    }
  };

  const execute = (req: CallRequest | PrepareRequest, reg: Registration): void =>
    req.op === 'call' ? run(req, reg) : prepare(req, reg);

  // Returns a promise only when it has to wait (a module import), so the fast path stays sync.
  const handle = (req: Request): void | Promise<void> => {
    if (req.op !== 'release') {
      // Kept even if the call was revoked: the caller sends definitions and constructor
      // arguments to a worker only once.
      if (req.def) defs.set(req.target, req.def);
      const part = req.instance;
      if (part?.ctorArgs && !replicas.has(part.id)) unbuilt.set(part.id, restoreBuffers(part.ctorArgs, part.ctorBuffers));
    }
    // Claimed in arrival order, before anything can fail, so that the next claim follows on.
    // The pool's own requests are never revoked, so their claim always succeeds.
    if (!claim(req.seq) && req.op === 'call') return pool!.onRevoked(); // the caller runs it elsewhere
    if (req.op === 'release') return release(req.seq, req.instance);
    const def = defs.get(req.target);
    const reg = targets.get(req.target) ?? (def && lookupKey(def.key));
    if (reg) {
      targets.set(req.target, reg);
      return execute(req, reg);
    }
    if (!def) return fail(req.seq, new RegistrationError(`smartasync: unknown target ${req.target} in worker.`));
    return findTarget(def).then(
      (found) => {
        targets.set(req.target, found);
        execute(req, found);
      },
      (err: unknown) => fail(req.seq, err),
    );
  };

  // Requests keep their order behind an import; the line clears when its last link settles
  // (else every later call would take a promise hop for the worker's whole life).
  const holdLine = (pending: Promise<void>): void => {
    const mine: Promise<void> = pending.finally(() => {
      if (waiting === mine) waiting = undefined;
    });
    waiting = mine;
  };
  return (req) => {
    if (waiting) return holdLine(waiting.then(() => handle(req)));
    const pending = handle(req);
    if (pending) holdLine(pending);
  };
}

// process.threadCpuUsage: Node 23.9 and later. Without it, every long call counts as CPU-bound.
const threadCpuUsage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.bind(process);

function cpuMsSince(before: NodeJS.CpuUsage): number {
  const after = threadCpuUsage!();
  return (after.user - before.user + after.system - before.system) / 1000;
}

function snapshot(obj: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(obj));
}

function changedFields(before: Map<string, unknown>, obj: Record<string, unknown>): string[] | undefined {
  const changed: string[] = [];
  for (const [k, v] of Object.entries(obj)) if (!before.has(k) || before.get(k) !== v) changed.push(k);
  for (const k of before.keys()) if (!(k in obj)) changed.push(k);
  return changed.length ? changed : undefined;
}

/**
 * How long an idle pool worker blocks in Atomics.wait for the next call before it waits on
 * its event loop instead. While it blocks, its own timers and I/O wait (at most this long, and
 * only when no call of ours is in flight); a shorter timeout costs more per wake-up (see
 * Ring.waitSync).
 */
const IDLE_BLOCK_MS = 20;

function startPoolWorker(): void {
  const ctrl = new Int32Array(workerBoot!.ctrl);
  // Requests taken vs replies sent: while they differ an async call is in flight and the
  // event loop must run freely (its timers and I/O settle the call).
  let received = 0;
  let replied = 0;
  // eslint-disable-next-line prefer-const
  let execute: (req: Request) => void;
  const channel = new Channel<Reply, Request>(
    workerBoot!.channel!,
    (batch) => {
      received += batch.length;
      for (const req of batch) execute(req);
    },
    { blockingWaitMs: IDLE_BLOCK_MS, mayBlock: () => received === replied },
  );
  execute = createExecutor(
    (reply, json) => {
      replied++;
      channel.send(reply, { json });
    },
    { ctrl, epoch: workerBoot!.epoch ?? 0, onRevoked: () => void replied++ },
  );
  // The rings' reader sleeps in Atomics.waitAsync, which holds no handle: this keeps the thread up.
  parentPort!.on('message', () => {});
}

/**
 * The sync bridge: one request at a time from a thread that is blocked in Atomics.wait on
 * the reply ring. Requests are read on the event loop (the async bodies need it), replies
 * wake the caller at once. Whatever happens, the blocked thread must be woken.
 */
function startBridgeWorker(): void {
  let current: number | undefined;
  // eslint-disable-next-line prefer-const
  let execute: (req: Request) => void;
  const channel = new Channel<Reply, Request>(
    workerBoot!.channel!,
    (batch) => {
      for (const req of batch) {
        if (req.op === 'call') current = req.seq;
        execute(req);
      }
    },
    // Between calls nothing of ours needs the event loop: block for the fastest wake-up.
    { blockingWaitMs: IDLE_BLOCK_MS, mayBlock: () => current === undefined },
  );
  const send = (reply: Reply, json: boolean): void => {
    if (reply.seq === current) current = undefined;
    channel.send(reply, { json, now: true }); // the caller is blocked: wake it at once
  };
  execute = createExecutor(send);
  const crash = (detail: string, err?: unknown): void => {
    if (current === undefined) return;
    const reply: Reply = {
      seq: current,
      ok: false,
      value: encodeThrown(new WorkerCrashedError('the call', detail, err === undefined ? undefined : { cause: err })),
      runMs: 0,
    };
    send(reply, false);
  };
  process.on('uncaughtException', (err) => crash(`threw an uncaught exception: ${(err as Error)?.message ?? String(err)}`, err));
  process.on('unhandledRejection', (err) => crash(`had an unhandled promise rejection: ${(err as Error)?.message ?? String(err)}`, err));
  process.on('exit', (code) => crash(`exited with code ${code}`));
  // The ring's reader sleeps in Atomics.waitAsync, which holds no handle: this keeps the thread up.
  parentPort!.on('message', () => {});
}

if (workerBoot?.role === 'bridge') startBridgeWorker();
else if (workerBoot?.role === 'pool') startPoolWorker();
