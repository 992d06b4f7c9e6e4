// One bench:compare job in a process of its own: both builds (and the peer, with --peer) loaded side by
// side and measured in interleaved blocks by the loops of sections 1–4 (src/micro.ts).
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { asyncCandidates, syncCandidates } from '../candidates.ts';
import { echoes, interleave, latencyBlock, throughputBlock, type BlockOut } from '../micro.ts';
import { IN_FLIGHT } from '../plan.ts';

/**
 * `size`: pool size; `calls` per block; `inFlight` (throughput); `gapMs` between spaced calls, 0 for
 * setImmediate; `builds`: build directories, each with tasks.mjs, or keys of PEERS.
 */
export interface CompareJob {
  readonly kind: 'roundtrip' | 'throughput' | 'spaced' | 'sync' | 'large' | 'stream';
  readonly size: number;
  readonly calls: number;
  readonly rounds: number;
  readonly inFlight?: number;
  readonly gapMs?: number;
  readonly builds: readonly string[];
}
export type Metrics = Record<string, number>;
type Small = { a: number };
type Instance = {
  noop(x: Small): Promise<Small>;
  sync(x: Small): Small;
  echo<T>(x: T): Promise<T>;
  /** A stream of `n` chunks of NDJSON text; builds and peers without one leave it out. */
  lines?(n: number): AsyncIterable<string>;
  close(): Promise<void>;
};

/**
 * In `CompareJob.builds`: the peer the targets name, piscina in its two best batching
 * configurations (atomics 'async' and 'sync', which trade places from run to run; the caller
 * takes the better of the two per round, as the targets do), with synckit for .sync().
 */
export const PEERS = { 'peer:async': 'piscina:best-async', 'peer:sync': 'piscina:best' } as const;

/** What a build's tasks.mjs exports (src/compare/build.ts). */
type BuildTasks = Pick<Instance, 'noop' | 'echo' | 'lines'> & {
  ping: { sync: Instance['sync'] };
  configure(o: { size: number }): void;
  getPool(): { close(): Promise<void> };
};

async function load(dir: string, size: number): Promise<Instance> {
  if (dir in PEERS) {
    const id = PEERS[dir as keyof typeof PEERS];
    const pool = await asyncCandidates.find((c) => c.id === id)!.create({ workers: size });
    const synckit = await syncCandidates.find((c) => c.id === 'synckit:default')!.create();
    const filename = new URL('../workers/pool-task.ts', import.meta.url).href;
    const echoPool = new Piscina({ filename, maxThreads: size });
    const echo = <T>(x: T) => echoPool.run(x, { name: 'echo' }) as Promise<T>;
    const close = () => Promise.all([pool.close(), echoPool.destroy()]).then(() => {});
    return { noop: pool.noop, sync: synckit.ping, echo, close };
  }
  const t = (await import(pathToFileURL(`${dir}/tasks.mjs`).href)) as BuildTasks;
  t.configure({ size });
  return { noop: t.noop, sync: (x) => t.ping.sync(x), echo: t.echo, lines: t.lines, close: () => t.getPool().close() };
}

// A stream of NDJSON text (an export's): ms for `n` chunks, and the calling thread's CPU per MB.
async function streamBlock(t: Instance, n: number) {
  if (!t.lines) throw new Error('this build has no stream to compare');
  const t0 = performance.now();
  const cpu0 = process.threadCpuUsage();
  let units = 0;
  for await (const text of t.lines(n)) units += text.length;
  const cpu = process.threadCpuUsage(cpu0);
  return { values: { text_ms: performance.now() - t0, cpu_ms_per_mb: (cpu.user + cpu.system) / 1000 / (units / 1e6) } };
}

// A 10 MB string and a 10 MB Buffer as argument and result, against structuredClone of each
// twice (there and back) in the same block: ms per call, and that ratio.
const BIG = 10 * 1024 * 1024;
const bigString = 'x'.repeat(BIG);
const bigBuffer = Buffer.alloc(BIG, 7);
async function largeBlock(t: Instance, n: number) {
  const values: Metrics = {};
  for (const [name, value] of [['string', bigString] as const, ['buffer', bigBuffer] as const]) {
    let call = 0;
    let clone = 0;
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      const back: unknown = await t.echo(value);
      call += performance.now() - t0;
      // (piscina gives a Buffer back as a Uint8Array: only the length and kind are checked.)
      if ((back as { length: number }).length !== BIG || typeof back !== typeof value)
        throw new Error(`the ${name} came back changed`);
      t0 = performance.now();
      structuredClone(structuredClone(value));
      clone += performance.now() - t0;
    }
    values[`${name}_ms`] = call / n;
    values[`${name}_x_clone`] = call / clone;
  }
  return { values };
}

/** Each build's metrics, round by round (`[build][round]`). */
export async function runJob(job: CompareJob): Promise<Metrics[][]> {
  const { calls, gapMs } = job;
  const gap = () => (gapMs ? sleep(gapMs) : immediate());
  const blocks: Record<CompareJob['kind'], (t: Instance) => Promise<BlockOut>> = {
    roundtrip: (t) => latencyBlock(calls, (i) => t.noop({ a: i }), echoes),
    spaced: (t) => latencyBlock(calls, (i) => t.noop({ a: i }), echoes, gap),
    sync: (t) => latencyBlock(calls, (i) => t.sync({ a: i }), echoes),
    throughput: (t) => throughputBlock(calls, job.inFlight ?? IN_FLIGHT, (a) => t.noop({ a })),
    large: (t) => largeBlock(t, calls),
    stream: (t) => streamBlock(t, calls),
  };
  const candidates = job.builds.map((dir, k) => ({
    info: { id: `${k}`, lib: dir, kind: 'subject' as const, config: '-' as const, note: dir },
    create: () => load(dir, job.size),
  }));
  const log = (m: string) => void process.stderr.write(m + '\n');
  const results = await interleave<Instance>(job.rounds, candidates, blocks[job.kind], log);
  const failed = results.find((r) => r.error);
  if (failed) throw new Error(`${failed.lib}: ${failed.error}`);
  const round = (perRound: Record<string, number[]>, i: number) =>
    Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, v[i]!]));
  return results.map((r) => Array.from({ length: job.rounds }, (_, i) => round(r.perRound, i)));
}
