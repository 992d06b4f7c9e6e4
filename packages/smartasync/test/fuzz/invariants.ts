// The engine's promises, checked against what really ran (the side-effect log) and what every
// caller was told. Each check returns the violations it found, as sentences.
import { CallAbortedError, CallTimeoutError, PoolClosedError, QueueFullError, WorkerCrashedError } from 'smartasync';
import type { CallRecord, LogEntry, Played } from './run.ts';

/** Scheduling noise a shared 2-core machine may add to any wait, in ms. */
export const SLACK_MS = 500;
/** What a short call may wait beyond the short work ahead of it, in ms. */
export const SHORT_SLACK_MS = 150;
/** What handing one call to a worker and back may cost beyond its run time, on a loaded machine, in ms. */
export const PER_CALL_MS = 1;
/** How late a streamed item may reach a reader that is waiting for it, beyond 2 ms, in ms. */
export const ITEM_SLACK_MS = 50;
/** How long the longest call of a short function may run for it to count as short (or the pool's longCallMs if less), in ms. */
const SHORT_MS = 2;

interface Ran {
  start?: number;
  end?: number;
  finallyAt?: number;
  produced?: number;
  starts: number;
}

export function byId(log: readonly LogEntry[]): Map<number, Ran> {
  const ran = new Map<number, Ran>();
  for (const e of log) {
    const r = ran.get(e.id) ?? { starts: 0 };
    if (e.what === 'S') {
      r.starts++;
      r.start ??= e.t;
    } else if (e.what === 'E') r.end = e.t;
    else {
      r.finallyAt = e.t;
      r.produced = e.produced;
    }
    ran.set(e.id, r);
  }
  return ran;
}

const errorOf = (c: CallRecord) => (c.outcome && !c.outcome.ok ? c.outcome.error : undefined);
const describe = (c: CallRecord) => `call ${c.id} (${c.fn}${c.flood ? ', flood' : ''})`;
const name = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e));

/** When a call stopped holding its worker: its end, its generator's finally, or its settling. */
function doneAt(c: CallRecord, r: Ran | undefined): number {
  return r?.finallyAt ?? r?.end ?? c.settledAt ?? Infinity;
}

/** Every call settles exactly once; what callers were told agrees with what ran. */
export function checkOutcomes(p: Played): string[] {
  const out: string[] = [];
  const ran = byId(p.log);
  const killers = p.calls.some((c) => c.command.op === 'die' || (c.command as { cancel?: unknown }).cancel);
  if (p.unsettled.length) out.push(`calls ${p.unsettled.join(', ')} never settled`);
  if (p.closeError) out.push(`close() failed: ${name(p.closeError)}`);
  for (const c of p.calls) {
    const r = ran.get(c.id);
    if (r && r.starts > 1) out.push(`${describe(c)} ran ${r.starts} times`);
    const err = errorOf(c);
    if (!c.outcome) continue;
    if (c.outcome.ok) {
      if (c.command.op !== 'stream' && !r) out.push(`${describe(c)} was fulfilled but never ran`);
      if (c.command.op === 'call' || c.command.op === 'pinned') {
        if (c.outcome.value !== c.id) out.push(`${describe(c)} was fulfilled with ${String(c.outcome.value)}`);
      }
      continue;
    }
    if (err instanceof CallAbortedError || err instanceof CallTimeoutError) {
      const started = (err as { started?: unknown }).started;
      if (typeof started !== 'boolean')
        out.push(`${describe(c)}: ${err.constructor.name} does not say whether it started`);
      // `started` means it may have run (a worker ended at once, a generator stopped before its
      // first item, may not have got as far as the log): only "not started" is a promise.
      else if (!started && r)
        out.push(`${describe(c)} was reported cancelled before it started, but it ran: ${name(err)}`);
      if (!c.command || !(c.command as { cancel?: unknown }).cancel)
        out.push(`${describe(c)} had no cancel, yet: ${name(err)}`);
    } else if (err instanceof WorkerCrashedError) {
      if (!killers) out.push(`${describe(c)} failed with a crash though no call ended a worker: ${name(err)}`);
      if (r?.end !== undefined) out.push(`${describe(c)} finished on its worker but was reported crashed`);
    } else if (err instanceof QueueFullError || err instanceof PoolClosedError) {
      if (r) out.push(`${describe(c)} was refused (${name(err)}) but ran`);
      if (err instanceof PoolClosedError) out.push(`${describe(c)} was refused as closed before close()`);
    } else if (c.command.op === 'call' || c.command.op === 'pinned') {
      out.push(`${describe(c)} failed unexpectedly: ${name(err)}`);
    }
  }
  return out;
}

/** A bad value thrown or returned fails its own call, with a clear error, never its worker. */
export function checkPoison(p: Played): string[] {
  const out: string[] = [];
  for (const c of p.calls) {
    if (c.command.op !== 'poison' || !c.outcome) continue;
    if (c.outcome.ok) {
      out.push(`${describe(c)} (${c.command.kind}) was fulfilled with a value that cannot cross`);
      continue;
    }
    if (c.outcome.error instanceof WorkerCrashedError)
      out.push(`${describe(c)} (${c.command.kind}) ended its worker: ${name(c.outcome.error)}`);
  }
  const dies = p.calls.filter((c) => c.command.op === 'die' && p.log.some((e) => e.id === c.id && e.what === 'S'));
  if (p.stats.crashedWorkers > dies.length)
    out.push(`${p.stats.crashedWorkers} workers crashed, but only ${dies.length} calls ended one`);
  return out;
}

/** Calls of a pinned instance run in call order. */
export function checkPinnedOrder(p: Played): string[] {
  const out: string[] = [];
  const order = new Map<number, number[]>();
  const ledgerOf = new Map(p.calls.filter((c) => c.ledger !== undefined).map((c) => [c.id, c.ledger!]));
  for (const e of p.log) {
    const ledger = ledgerOf.get(e.id);
    if (e.what !== 'S' || ledger === undefined) continue;
    (order.get(ledger) ?? order.set(ledger, []).get(ledger)!).push(e.id);
  }
  for (const [ledger, ids] of order) {
    for (let i = 1; i < ids.length; i++)
      if (ids[i]! < ids[i - 1]!) out.push(`ledger ${ledger}: call ${ids[i]} ran after call ${ids[i - 1]}, made later`);
  }
  return out;
}

/** Items arrive in order, none lost or duplicated; the generator ends promptly, its finally run. */
export function checkStreams(p: Played): string[] {
  const out: string[] = [];
  const ran = byId(p.log);
  for (const c of p.calls) {
    const s = c.command;
    if (s.op !== 'stream' || !c.outcome) continue;
    const items = c.items!;
    items.forEach((item, k) => {
      if (item.i !== k) out.push(`${describe(c)}: item ${k} was ${item.i}`);
    });
    const err = errorOf(c);
    const stop = Math.min(s.n, s.failAt < 0 ? Infinity : s.failAt, s.badAt < 0 ? Infinity : s.badAt);
    const r = ran.get(c.id);
    if (c.outcome.ok && c.brokeAt === undefined && items.length !== stop)
      out.push(`${describe(c)} ended after ${items.length} items, expected ${stop}`);
    if (c.outcome.ok && stop < s.n && c.brokeAt === undefined)
      out.push(`${describe(c)} should have failed at item ${stop}`);
    const refused = err instanceof QueueFullError || err instanceof PoolClosedError;
    if (refused && items.length > 0) out.push(`${describe(c)} was refused (${name(err)}) after ${items.length} items`);
    if (!c.outcome.ok && !refused && !s.cancel && !(err instanceof WorkerCrashedError) && items.length !== stop)
      out.push(`${describe(c)} failed after ${items.length} items (${name(err)}), expected ${stop} first`);
    if (r?.start !== undefined && r.finallyAt === undefined && !(err instanceof WorkerCrashedError))
      out.push(`${describe(c)}: its generator's finally never ran`);
    if (c.brokeAt !== undefined && r?.finallyAt !== undefined && r.finallyAt - c.brokeAt > 2 * s.ms + SLACK_MS)
      out.push(
        `${describe(c)}: its generator ended ${(r.finallyAt - c.brokeAt).toFixed(0)} ms after the reader broke off`,
      );
    if (s.read === 'full' && s.ms >= 5) {
      for (const item of items) {
        const late = item.at - item.t;
        if (late > 2 + ITEM_SLACK_MS + p.noiseMs)
          out.push(`${describe(c)}: item ${item.i} reached its reader ${late.toFixed(0)} ms after it was yielded`);
      }
    }
  }
  return out;
}

/** The plain calls that ran, per function, in the order they ended: when, and for how long (ms). */
export function runsByFunction(
  calls: readonly CallRecord[],
  ran: Map<number, Ran>,
): Map<string, { end: number; ms: number }[]> {
  const runs = new Map<string, { end: number; ms: number }[]>();
  for (const x of calls) {
    const r = ran.get(x.id);
    if (x.command.op !== 'call' || r?.end === undefined || r.start === undefined) continue;
    (runs.get(x.fn) ?? runs.set(x.fn, []).get(x.fn)!).push({ end: r.end, ms: r.end - r.start });
  }
  for (const list of runs.values()) list.sort((a, b) => a.end - b.end);
  return runs;
}

/**
 * Whether a call's function was known to be short when it was made: it had run, and its latest
 * runs (up to 8) finished before the call were all short, counting runs of earlier scenarios.
 */
function shortness(p: Played, ran: Map<number, Ran>): (c: CallRecord) => boolean {
  const hol = p.scenario.pool.headOfLine;
  const shortMs = Math.min(SHORT_MS, (typeof hol === 'object' && hol.longCallMs) || SHORT_MS);
  const runs = runsByFunction(p.calls, ran);
  return (c) => {
    const list = runs.get(c.fn) ?? [];
    let lo = 0;
    let hi = list.length; // the first run that ended at or after the call
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.end < c.issuedAt) lo = mid + 1;
      else hi = mid;
    }
    const before = (p.earlier.get(c.fn) ?? []).map((ms) => ({ ms }));
    const latest = [...before, ...list.slice(Math.max(0, lo - 8), lo)].slice(-8);
    return latest.length > 0 && latest.every((run) => run.ms < shortMs);
  };
}

/**
 * Bounded waiting: no call waits longer than the work ahead of it (the run time of the calls
 * made before it and not yet done), plus scheduling slack, however many calls come after it;
 * and with head-of-line protection, a call of a function known to be short waits only for the
 * short work ahead of it.
 */
export function checkWaits(p: Played): string[] {
  const out: string[] = [];
  const ran = byId(p.log);
  const isShort = shortness(p, ran);
  const hol = p.scenario.pool.headOfLine !== false;
  // No call is placed or run while the machine (or the calling thread's own work) holds the
  // threads up: that much of any wait is not the scheduler's.
  const slack = SLACK_MS + p.noiseMs;
  const shortSlack = SHORT_SLACK_MS + p.noiseMs;
  // Workers that end (a call that kills its worker, a cancelled call whose worker is terminated)
  // are replaced: calls around then may wait for a new worker to start.
  const killed = (c: CallRecord) =>
    /worker thread was terminated/.test(String((errorOf(c) as Error | undefined)?.message));
  const crashes = [
    ...p.calls.filter((c) => c.command.op === 'die').map((c) => ran.get(c.id)?.start ?? Infinity),
    ...p.calls.filter(killed).map((c) => c.settledAt!),
    ...p.workerExits,
  ];
  // Calls made so far and not done yet, swept in call order.
  let active: { c: CallRecord; r: Ran; short: boolean }[] = [];
  for (const c of p.calls) {
    active = active.filter(({ c: x, r: xr }) => doneAt(x, xr) > c.issuedAt);
    const r = ran.get(c.id);
    const short = isShort(c);
    if (r?.start !== undefined) {
      checkWait(c, r, short);
      active.push({ c, r, short });
    }
  }
  return out;

  function checkWait(c: CallRecord, r: Ran, short: boolean): void {
    const start = r.start!;
    const waited = start - c.issuedAt;
    // A worker that dies makes its calls wait for its replacement to start.
    const respawn = crashes.some((t) => t <= start && t >= c.issuedAt - SLACK_MS) ? SLACK_MS : 0;
    let ahead = 0;
    let shortAhead = 0;
    for (const { c: x, r: xr, short: xShort } of active) {
      const work = Math.max(0, Math.min(doneAt(x, xr), start) - Math.max(xr.start!, x.issuedAt));
      ahead += work + PER_CALL_MS;
      if (xShort) shortAhead += work + PER_CALL_MS;
    }
    if (waited > ahead + slack + respawn)
      out.push(`${describe(c)} waited ${waited.toFixed(0)} ms with ${ahead.toFixed(0)} ms of work ahead of it`);
    else if (hol && c.command.op === 'call' && !respawn && short && waited > shortAhead + shortSlack)
      out.push(
        `${describe(c)}, known short, waited ${waited.toFixed(0)} ms with ${shortAhead.toFixed(0)} ms of short work ahead`,
      );
  }
}

/** The pool's statistics add up to what happened. */
export function checkStats(p: Played): string[] {
  const out: string[] = [];
  const { stats } = p;
  const offloaded = p.calls.filter((c) => c.outcome);
  const fulfilled = offloaded.filter((c) => c.outcome!.ok).length;
  // A stream its reader broke off may have failed on its worker after the last item read: the
  // reader never sees that error, the pool counts it.
  const broken = offloaded.filter((c) => c.outcome!.ok && c.brokeAt !== undefined).length;
  if (stats.completed + stats.failed !== offloaded.length)
    out.push(`stats count ${stats.completed + stats.failed} settled calls, ${offloaded.length} calls settled`);
  if (stats.completed > fulfilled || stats.completed < fulfilled - broken)
    out.push(`stats.completed is ${stats.completed}, ${fulfilled} calls were fulfilled (${broken} streams broken off)`);
  if (stats.queued !== 0 || stats.running !== 0)
    out.push(`after close: ${stats.queued} queued and ${stats.running} running`);
  return out;
}

export const INVARIANTS = { checkOutcomes, checkPoison, checkPinnedOrder, checkStreams, checkWaits, checkStats };

/** Every violation in a played scenario. */
export function violations(p: Played): string[] {
  return Object.values(INVARIANTS).flatMap((check) => check(p));
}
