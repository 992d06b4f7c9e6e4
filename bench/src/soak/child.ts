// One soak candidate in a process of its own (its RSS is the measurement): N callers keep calls
// in flight for the whole run, half of them throwing; one JSON line per sample on stdout.
import { BroadcastChannel } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { POOLS } from '../traffic/pools.ts';
import { HEAP_CHANNEL, type Row, type WorkerHeap } from './work.ts';

/** `concurrency`: calls kept in flight. */
export type SoakJob = {
  candidate: 'smartasync' | 'piscina';
  seconds: number;
  concurrency: number;
  workers: number;
  sampleMs: number;
};
/** Process memory and every worker's V8 heap at one moment (bytes); `t` in seconds since the load started. */
export type SoakSample = ReturnType<typeof sample>;
export type SoakLine =
  | ({ type: 'sample' } & SoakSample)
  | { type: 'end'; calls: number; failed: number; wrong: number; firstWrong: string | undefined };

const job = JSON.parse(process.argv[2]!) as SoakJob;
// Listening before the pool starts: a report sent before then would be lost.
const heaps = new Map<number, WorkerHeap>();
const channel = new BroadcastChannel(HEAP_CHANNEL);
channel.onmessage = (e) => {
  const h = (e as { data: WorkerHeap }).data;
  heaps.set(h.threadId, h);
};

const pool = await POOLS.find((p) => p.lib === job.candidate)!.create({ workers: job.workers });
// Every thread up and its module loaded before the first sample; each worker reports its heap from a call.
await Promise.all(Array.from({ length: job.workers * 8 }, (_, k) => pool.lookup(k * 2)));

const emit = (line: SoakLine): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
let [calls, failed, wrong] = [0, 0, 0];
let firstWrong: string | undefined;
let t0 = performance.now();

const heapOf = ({ used, total, external }: WorkerHeap) => ({ used, total, external });
function sample() {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const workers = [...heaps.values()].sort((a, b) => a.threadId - b.threadId).map(heapOf);
  return { t: (performance.now() - t0) / 1000, calls, failed, rss, heapUsed, heapTotal, external, workers };
}

// Let start-up settle (and every worker report its heap) before the first sample.
await sleep(1500);
t0 = performance.now();
emit({ type: 'sample', ...sample() });
const timer = setInterval(() => emit({ type: 'sample', ...sample() }), job.sampleMs);
const end = t0 + job.seconds * 1000;

function check(i: number, row: Row | undefined, err: unknown): void {
  const good =
    i & 1 ? err instanceof Error && err.message === `row ${i} was not found` : row?.i === i && row.name === `user-${i}`;
  if (!good) {
    wrong++;
    firstWrong ??= `call ${i}: ${err instanceof Error ? err.message : JSON.stringify(row ?? err)}`;
  }
}

async function caller(k: number): Promise<void> {
  for (let i = k; performance.now() < end; i += job.concurrency) {
    try {
      check(i, (await pool.lookup(i)) as Row, undefined);
    } catch (err) {
      failed++;
      check(i, undefined, err);
    }
    calls++;
  }
}

await Promise.all(Array.from({ length: job.concurrency }, (_, k) => caller(k)));
clearInterval(timer);
emit({ type: 'sample', ...sample() });
emit({ type: 'end', calls, failed, wrong, firstWrong });
channel.close();
await pool.close();
