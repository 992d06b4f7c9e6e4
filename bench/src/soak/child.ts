// One soak candidate in a process of its own (its RSS is the measurement; run by src/lib/child.ts):
// N callers keep calls in flight for the whole run, half of them throwing; a sample once a second.
import { BroadcastChannel } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { POOLS } from '../traffic/pools.ts';
import { HEAP_CHANNEL, type Row, type WorkerHeap } from './work.ts';

/** `concurrency`: calls kept in flight. */
export type SoakJob = { candidate: 'smartasync' | 'piscina'; seconds: number; concurrency: number; workers: number };
/** Process memory and every worker's V8 heap at one moment (bytes); `t` in seconds since the load started. */
export type SoakSample = Pick<NodeJS.MemoryUsage, 'rss' | 'heapUsed' | 'heapTotal' | 'external'> & {
  t: number;
  calls: number;
  failed: number;
  workers: Omit<WorkerHeap, 'threadId'>[];
};
export type SoakOutcome = Awaited<ReturnType<typeof soak>>;

export async function soak(job: SoakJob, log = (m: string) => void process.stderr.write(m + '\n')) {
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

  let [calls, failed, wrong] = [0, 0, 0];
  let firstWrong: string | undefined;
  let t0 = performance.now();
  const every = Math.max(1, Math.round(job.seconds / 10));
  const samples: SoakSample[] = [];
  const sample = () => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    const workers = [...heaps.values()]
      .sort((a, b) => a.threadId - b.threadId)
      .map(({ used, total, external }) => ({ used, total, external }));
    const s = { t: (performance.now() - t0) / 1000, calls, failed, rss, heapUsed, heapTotal, external, workers };
    if ((samples.push(s) - 1) % every === 0) {
      const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
      const heapsMb = `main ${mb(heapTotal)}, workers ${workers.map((w) => mb(w.total)).join('+')}`;
      log(`${s.t.toFixed(0)} s: ${calls} calls, RSS ${mb(rss)} MB, heaps: ${heapsMb} MB`);
    }
  };

  // Let start-up settle (and every worker report its heap) before the first sample.
  await sleep(1500);
  t0 = performance.now();
  sample();
  const timer = setInterval(sample, 1000);
  const end = t0 + job.seconds * 1000;

  const check = (i: number, row: Row | undefined, err: unknown) => {
    const good =
      i & 1
        ? err instanceof Error && err.message === `row ${i} was not found`
        : row?.i === i && row.name === `user-${i}`;
    if (!good) {
      wrong++;
      firstWrong ??= `call ${i}: ${err instanceof Error ? err.message : JSON.stringify(row ?? err)}`;
    }
  };
  const caller = async (k: number) => {
    for (let i = k; performance.now() < end; i += job.concurrency) {
      try {
        check(i, (await pool.lookup(i)) as Row, undefined);
      } catch (err) {
        failed++;
        check(i, undefined, err);
      }
      calls++;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, k) => caller(k)));
  clearInterval(timer);
  sample();
  channel.close();
  await pool.close();
  return { samples, wrong, firstWrong };
}
