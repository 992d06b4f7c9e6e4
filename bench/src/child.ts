// One job in its own process: smartasync's pool size is per process, pinning applies to the
// whole process, and a peer that leaks threads or handles cannot disturb the next job.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadRegistry } from './candidates/index.ts';
import { interleave, latencyBlock, syncBlock, throughputBlock } from './harness.ts';
import type { Job, JobResult } from './job.ts';
import type { AsyncInstance, CandidateInfo, SyncInstance } from './types.ts';

function info(c: CandidateInfo): CandidateInfo {
  return { id: c.id, lib: c.lib, kind: c.kind, config: c.config, note: c.note };
}

export async function runJob(
  job: Job,
  log: (m: string) => void = (m) => process.stderr.write(m + '\n'),
): Promise<JobResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const reg = await loadRegistry(job.adapters);
  for (const u of reg.unavailable) log(`  adapter not loaded: ${u.adapter}: ${u.error}`);
  const pick = <T extends CandidateInfo>(xs: T[]) =>
    job.only?.length ? xs.filter((c) => job.only!.some((o) => c.id === o || c.lib === o)) : xs;

  const measured: { start?: bigint; end?: bigint } = {};
  let candidates;
  if (job.section === 'sync') {
    const cs = pick(reg.syncCandidates).map((c) => ({ info: info(c), create: () => c.create() }));
    candidates = await interleave<SyncInstance>(job, cs, (inst) => syncBlock(inst, job.block), log, measured);
  } else {
    const cs = pick(reg.asyncCandidates)
      .filter((c) =>
        job.section === 'throughput' ? c.batching : job.section === 'payload' ? c.payload : c.roundtrip !== false,
      )
      .map((c) => ({ info: info(c), create: () => c.create({ workers: job.workers }) }));
    const block =
      job.section === 'throughput'
        ? (inst: AsyncInstance) => throughputBlock(inst, job.block, job.inFlight)
        : (inst: AsyncInstance) => latencyBlock(inst, job.block, job.section === 'payload');
    candidates = await interleave<AsyncInstance>(job, cs, block, log, measured);
  }
  const us = (t?: bigint) => (t === undefined ? 0 : Number(t / 1000n));
  return {
    job,
    startedAt,
    wallSeconds: (performance.now() - t0) / 1000,
    measuredUs: [us(measured.start), us(measured.end)],
    unavailable: reg.unavailable,
    candidates,
  };
}

// Entry point when spawned by the runner: `child.ts <job.json> <out.json>`.
if (import.meta.main) {
  const [jobFile, outFile] = process.argv.slice(2);
  const job = JSON.parse(readFileSync(jobFile!, 'utf8')) as Job;
  const result = await runJob(job);
  writeFileSync(outFile!, JSON.stringify(result));
  // Some peers keep handles open after close; the result is written, so leave now.
  process.exit(0);
}
