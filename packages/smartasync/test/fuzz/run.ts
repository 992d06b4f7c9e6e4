// Plays a generated scenario against the real default pool: real workers, the side-effect log
// of test/fixtures/fuzz-target.ts, and a record of what every caller was told and when.
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getPool, type CallOptions, type PoolStats } from 'smartasync';
import * as target from '../fixtures/fuzz-target.ts';
import { Noise } from './noise.ts';
import { byId, runsByFunction } from './invariants.ts';
import type { Cancel, Command, FnName, Scenario } from './commands.ts';

export const now = () => performance.timeOrigin + performance.now();

/** What one caller saw. */
export interface CallRecord {
  readonly id: number;
  readonly command: Command;
  /** The function the call ran, for learning which functions are known. */
  readonly fn: string;
  readonly issuedAt: number;
  /** When its cancel (abort or timeout) was due, if it had one. */
  cancelAt?: number;
  settledAt?: number;
  outcome?: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };
  /** Streams: what arrived, in order, and when; when the reader stopped early. */
  items?: { readonly i: number; readonly t: number; readonly at: number }[];
  brokeAt?: number;
  /** Pinned calls: which instance. */
  ledger?: number;
  /** Made by a flood. */
  flood?: boolean;
}

/** One line of the side-effect log. */
export interface LogEntry {
  readonly what: 'S' | 'E' | 'F';
  readonly id: number;
  readonly t: number;
  /** The thread it ran on. */
  readonly thread: number;
  readonly produced?: number;
}

export interface Played {
  readonly scenario: Scenario;
  readonly calls: CallRecord[];
  readonly log: LogEntry[];
  readonly stats: PoolStats;
  /** Calls that had not settled 30 s after the pool closed. */
  readonly unsettled: number[];
  /**
   * The longest a thread was held up during the run (ms): the calling thread's event loop (by
   * its own work, or the machine), or a plain worker thread ticking every millisecond (by the
   * machine). No call can be placed or run meanwhile, so waits allow it.
   */
  readonly noiseMs: number;
  /**
   * When the pool saw a worker end (its exit event), in `now()` time: a worker killed by a
   * timer's throw dies whenever its thread next runs its timers, long after the call began.
   */
  readonly workerExits: readonly number[];
  /**
   * Each function's latest run times (ms, oldest first, at most 8) from the scenarios played
   * before this one in this process: the pool learns a function across pools, so what a call
   * is known to be depends on them too.
   */
  readonly earlier: ReadonlyMap<string, readonly number[]>;
  readonly closeError?: unknown;
}

const fns: Record<FnName, (log: string, id: number, ms: number) => Promise<number>> = {
  short0: target.short0,
  short1: target.short1,
  long0: target.long0,
  long1: target.long1,
  waits0: target.waits0,
  varies: target.varies,
  fresh0: target.fresh0,
  fresh1: target.fresh1,
  fresh2: target.fresh2,
  fresh3: target.fresh3,
  fresh4: target.fresh4,
  fresh5: target.fresh5,
};

class Player {
  readonly calls: CallRecord[] = [];
  readonly pending: Promise<unknown>[] = [];
  private nextId = 0;
  readonly ledgers = [new target.PinnedLedger('L0'), new target.PinnedLedger('L1')];

  readonly log: string;
  constructor(log: string) {
    this.log = log;
  }

  record(command: Command, fn: string, extra: Partial<CallRecord> = {}): CallRecord {
    const rec: CallRecord = { id: this.nextId++, command, fn, issuedAt: now(), ...extra };
    this.calls.push(rec);
    return rec;
  }

  options(rec: CallRecord, cancel: Cancel | undefined): CallOptions | undefined {
    if (!cancel) return undefined;
    rec.cancelAt = rec.issuedAt + Math.max(0, cancel.afterMs);
    if (cancel.how === 'timeout') return { timeout: cancel.afterMs };
    if (cancel.afterMs < 0) return { signal: AbortSignal.abort(new Error('aborted before the call')) };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('aborted by the fuzzer')), cancel.afterMs);
    return { signal: controller.signal };
  }

  track(rec: CallRecord, promise: Promise<unknown>): void {
    this.pending.push(
      promise.then(
        (value) => {
          rec.settledAt = now();
          rec.outcome = { ok: true, value };
        },
        (error: unknown) => {
          rec.settledAt = now();
          rec.outcome = { ok: false, error };
        },
      ),
    );
  }

  call(c: Extract<Command, { op: 'call' }>): void {
    const rec = this.record(c, c.fn);
    const options = this.options(rec, c.cancel);
    const fn = options ? (fns[c.fn] as unknown as typeof target.short0).with(options) : fns[c.fn];
    this.track(rec, fn(this.log, rec.id, c.ms));
  }

  pinned(c: Extract<Command, { op: 'pinned' }>): void {
    const rec = this.record(c, 'Ledger#step', { ledger: c.ledger });
    const options = this.options(rec, c.cancel);
    const step = this.ledgers[c.ledger]!.step;
    this.track(rec, (options ? step.with(options) : step)(this.log, rec.id, c.ms));
  }

  stream(c: Extract<Command, { op: 'stream' }>): void {
    const rec = this.record(c, 'rows', { items: [] });
    const options = this.options(rec, c.cancel);
    const it = (options ? target.rows.with(options) : target.rows)(this.log, rec.id, c.n, c.ms, c.failAt, c.badAt);
    const read = async (): Promise<unknown> => {
      for await (const item of it) {
        rec.items!.push({ i: item.i, t: item.t, at: now() });
        if (c.read === 'break' && rec.items!.length >= c.breakAt) {
          rec.brokeAt = now();
          break;
        }
        if (c.read === 'slow') await sleep(2);
      }
      return rec.items!.length;
    };
    this.track(rec, read());
  }

  flood(c: Extract<Command, { op: 'flood' }>): void {
    const until = now() + c.ms;
    const lane = async () => {
      while (now() < until) {
        const rec = this.record({ op: 'call', fn: 'short0', ms: 0 }, 'short0', { flood: true });
        const p = target.short0(this.log, rec.id, 0);
        this.track(rec, p);
        // A refused call (a full queue) settles at once: wait a turn before the next, as a client
        // retrying would, or the lanes would hold this thread's event loop for the whole flood.
        if (
          await p.then(
            () => false,
            () => true,
          )
        )
          await new Promise((r) => setImmediate(r));
      }
    };
    for (let i = 0; i < c.callers; i++) this.pending.push(lane());
  }

  async play(c: Command): Promise<void> {
    switch (c.op) {
      case 'call':
        return this.call(c);
      case 'pinned':
        return this.pinned(c);
      case 'poison': {
        const rec = this.record(c, 'poison');
        return this.track(rec, target.poison(this.log, rec.id, c.kind));
      }
      case 'die': {
        const rec = this.record(c, 'die');
        return this.track(rec, target.die(this.log, rec.id, c.how));
      }
      case 'stream':
        return this.stream(c);
      case 'flood':
        return this.flood(c);
      case 'wait':
        await sleep(c.ms);
        return;
      case 'warm':
        this.pending.push(
          getPool()
            .warm(...this.ledgers)
            .catch(() => {}),
        );
        return;
    }
  }
}

function readLog(file: string): LogEntry[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, id, t, thread, produced] = line.split(' ');
      return {
        what: what as LogEntry['what'],
        id: Number(id),
        t: Number(t),
        thread: Number(thread),
        ...(produced === undefined ? {} : { produced: Number(produced) }),
      };
    });
}

const noise = new Noise();
/** See Played.earlier. */
const history = new Map<string, number[]>();

/** Adds the calls that ran in a played scenario to `history`, in the order they ended. */
function remember(calls: readonly CallRecord[], log: readonly LogEntry[]): void {
  for (const [fn, ran] of runsByFunction(calls, byId(log)))
    history.set(fn, [...(history.get(fn) ?? []), ...ran.map((r) => r.ms)].slice(-8));
}

/** Runs `scenario` on a fresh default pool and returns everything the invariants look at. */
export async function play(scenario: Scenario): Promise<Played> {
  // A pool whose close() hung in an earlier scenario (reported there) must not hang this one.
  const previous = await Promise.race([
    getPool()
      .close()
      .then(() => 'closed'),
    new Promise((r) => setTimeout(() => r('late'), 5_000).unref()),
  ]);
  if (previous === 'late')
    throw new Error('the pool of an earlier scenario did not close (a worker owes a reply): see its violations');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-fuzz-'));
  const log = path.join(dir, 'log');
  fs.writeFileSync(log, '');
  configure(scenario.pool);
  const player = new Player(log);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const workerExits: number[] = [];
  const onExit = () => void workerExits.push(now());
  dc.subscribe('smartasync:worker:exit', onExit);
  try {
    // Workers up and every module loaded: what the bounds measure is the scheduling.
    await getPool().warm(...player.ledgers);
    loop.enable();
    noise.reset();
    for (const command of scenario.commands) await player.play(command);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 30_000)));
    await Promise.race([Promise.all(player.pending), deadline]);
    clearTimeout(timer);
    await sleep(20); // a worker killed by a timer's throw after its call returned
    let closeError: unknown;
    const closed = getPool()
      .close()
      .catch((err: unknown) => (closeError = err));
    const closeDeadline = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 30_000)));
    if ((await Promise.race([closed, closeDeadline])) === 'late')
      closeError = new Error('close() did not settle within 30 s');
    clearTimeout(timer);
    loop.disable();
    const unsettled = player.calls.filter((c) => !c.outcome).map((c) => c.id);
    const noiseMs = Math.max(loop.max / 1e6, noise.worstMs);
    const entries = readLog(log);
    const earlier = new Map([...history].map(([fn, runs]) => [fn, [...runs]]));
    remember(player.calls, entries);
    return {
      scenario,
      calls: player.calls,
      log: entries,
      earlier,
      stats: getPool().stats(),
      unsettled,
      closeError,
      noiseMs,
      workerExits,
    };
  } finally {
    dc.unsubscribe('smartasync:worker:exit', onExit);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
