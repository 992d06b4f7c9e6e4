// Section 6, server traffic: spaced calls, open-loop arrivals and mixed work each in its own
// child process (all candidates interleaved), the idle cost with one process per candidate,
// then the users API. Unpinned only: these scenarios are about a server using both cores.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Size } from '../plan.ts';
import { runChild } from '../spawn.ts';
import { pickCandidates } from './candidates.ts';
import type { Scenario, TrafficJob } from './child.ts';
import { NODE_BASELINE } from './idle.ts';
import { TRAFFIC } from './params.ts';
import type { IdleCandidate, IdleResult, MixedResult, OpenLoopResult, SpacedResult, TrafficResult } from './types.ts';

export const TRAFFIC_PARTS = ['spaced', 'openloop', 'mixed', 'idle', 'app'] as const;
export type TrafficPart = (typeof TRAFFIC_PARTS)[number];

const childEntry = fileURLToPath(new URL('./child.ts', import.meta.url));
const idleEntry = fileURLToPath(new URL('./idle.ts', import.meta.url));

type Log = (m: string) => void;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface IdleProc {
  ready: Promise<void>;
  go(): void;
  result: Promise<IdleCandidate>;
}

function startIdle(id: string, workers: number, seconds: number, log: Log): IdleProc {
  const proc = spawn(process.execPath, [idleEntry, id, String(workers), String(seconds)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stderr.on('data', (d: Buffer) => log(`    ${id}: ${d.toString().trim()}`));
  const lines = createInterface({ input: proc.stdout });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const result = new Promise<IdleCandidate>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        proc.kill('SIGKILL');
        reject(new Error(`idle ${id} did not finish in ${seconds + 60} s`));
      },
      (seconds + 60) * 1000,
    );
    lines.on('line', (l) => {
      if (l === 'READY') readyResolve();
      else if (l.startsWith('{')) {
        clearTimeout(timer);
        resolve(JSON.parse(l) as IdleCandidate);
      }
    });
    // 'close', not 'exit': the last line (the result) may still be in the pipe at exit.
    proc.on('close', (code) => {
      clearTimeout(timer);
      readyResolve();
      reject(new Error(`idle ${id} exited with ${code} without a result`));
    });
  });
  return { ready, go: () => proc.stdin.write('GO\n'), result };
}

async function runIdle(size: Size, only: string[] | undefined, log: Log): Promise<IdleResult> {
  const p = TRAFFIC[size];
  const ids = [...pickCandidates(only).map((c) => c.id), NODE_BASELINE];
  // Started one after another so that each first call runs on a quiet machine; the idle windows
  // then run together (idle processes do not take each other's CPU time).
  const procs: IdleProc[] = [];
  for (const id of ids) {
    const pr = startIdle(id, p.workers, p.idle.seconds, log);
    procs.push(pr);
    await pr.ready;
  }
  for (const pr of procs) pr.go();
  const settled = await Promise.allSettled(procs.map((pr) => pr.result));
  return {
    seconds: p.idle.seconds,
    workers: p.workers,
    candidates: settled.map((s, i) =>
      s.status === 'fulfilled'
        ? s.value
        : { id: ids[i]!, lib: '?', kind: 'peer', seconds: p.idle.seconds, error: errorText(s.reason) },
    ),
  };
}

export async function runTraffic(o: {
  size: Size;
  only?: string[];
  parts: readonly TrafficPart[];
  log: Log;
}): Promise<TrafficResult> {
  const result: TrafficResult = { params: TRAFFIC[o.size] };
  for (const scenario of ['spaced', 'openloop', 'mixed'] as Scenario[]) {
    if (!o.parts.includes(scenario)) continue;
    o.log(`${scenario}`);
    const job: TrafficJob = { scenario, size: o.size, ...(o.only ? { only: o.only } : {}) };
    try {
      // Generous: today's smartasync build takes ~20 ms per spaced call.
      const res = await runChild<SpacedResult | OpenLoopResult | MixedResult>(job, false, {
        entry: childEntry,
        timeoutMs: 15 * 60_000,
        log: (m) => o.log('    ' + m),
      });
      if (scenario === 'spaced') result.spaced = res as SpacedResult;
      else if (scenario === 'openloop') result.openloop = res as OpenLoopResult;
      else result.mixed = res as MixedResult;
    } catch (err) {
      result[scenario] = { error: errorText(err) };
      o.log(`    FAILED: ${errorText(err)}`);
    }
  }
  if (o.parts.includes('idle')) {
    o.log(`idle pools, ${TRAFFIC[o.size].idle.seconds} s`);
    try {
      result.idle = await runIdle(o.size, o.only, o.log);
    } catch (err) {
      result.idle = { error: errorText(err) };
    }
  }
  if (o.parts.includes('app')) {
    o.log('users API');
    try {
      const { runTrafficApp } = await import('./app.ts');
      result.app = await runTrafficApp({ size: o.size, log: (m) => o.log('    ' + m) });
    } catch (err) {
      result.app = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      o.log(`    FAILED: ${errorText(err)}`);
    }
  }
  return result;
}
