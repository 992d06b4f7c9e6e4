// node scripts/defects.ts: the figures of issue 15's defects 1 and 2, measured as the issue
// measured them, with the pool's defaults (two workers and the express one).
// 1. Long (20 ms) calls from one closed-loop caller, alone and under 200 closed-loop callers of
//    a short function: long calls per second, and how long each waited to start.
// 2. Short calls (one every 2 ms) while 200 functions never seen make their first 20 ms call,
//    and while a function known as short turns to 50 ms calls: their p50, p99 and max.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getPool } from 'smartasync';

type Fn = ((ms: number) => Promise<number>) & { with(o: { timeout: number }): (ms: number) => Promise<number> };
const FRESH = 200;
// Next to this script, where `smartasync` resolves; removed at the end.
const dir = fs.mkdtempSync(path.join(import.meta.dirname, '.defects-'));
const file = path.join(dir, 'fns.ts');
// Each body returns when it started (epoch ms, alike on every thread), so waits are exact.
const body =
  '(ms: number) { const t = performance.timeOrigin + performance.now(); const until = performance.now() + ms; while (performance.now() < until); return t; }';
fs.writeFileSync(
  file,
  [
    "import { smartasync } from 'smartasync';",
    ...['short', 'long', 'varies', ...Array.from({ length: FRESH }, (_, i) => `fresh${i}`)].map(
      (name) => `export const ${name} = smartasync(function ${name}${body});`,
    ),
  ].join('\n'),
);
const fns = (await import(file)) as Record<string, Fn>;
const { short, long, varies } = fns as Record<'short' | 'long' | 'varies', Fn>;
const now = () => performance.timeOrigin + performance.now();
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? NaN;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

async function longCalls(seconds: number, flood: boolean): Promise<string> {
  let flooding = flood;
  const lanes = flood
    ? Array.from({ length: 200 }, async () => {
        while (flooding) await short(0.05);
      })
    : [];
  const waits: number[] = [];
  const until = now() + seconds * 1000;
  while (now() < until) {
    const issued = now();
    waits.push((await long(20)) - issued);
  }
  flooding = false;
  await Promise.all(lanes);
  const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
  return `${(waits.length / seconds).toFixed(1)} long calls/s, wait mean ${ms(mean)}, p99 ${ms(q(waits, 0.99))}, max ${ms(Math.max(...waits))}`;
}

async function shortDuring(during: () => Promise<unknown>): Promise<string> {
  let done = false;
  const work = during().finally(() => (done = true));
  const lat: number[] = [];
  while (!done) {
    const t0 = performance.now();
    await short(0);
    lat.push(performance.now() - t0);
    await sleep(2);
  }
  await work;
  return `short calls p50 ${ms(q(lat, 0.5))}, p99 ${ms(q(lat, 0.99))}, max ${ms(Math.max(...lat))} (${lat.length} calls)`;
}

try {
  await getPool().warm();
  await Promise.all([short(0), long(20)]);
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, ${os.availableParallelism()} cores`,
  );
  console.log(`1. alone:            ${await longCalls(5, false)}`);
  console.log(`1. under 200 short:  ${await longCalls(5, true)}, heldBack now ${getPool().stats().heldBack}`);
  console.log(`2. idle:             ${await shortDuring(() => sleep(1000))}`);
  const fresh = Array.from({ length: FRESH }, (_, i) => fns[`fresh${i}`]!);
  console.log(`2. ${FRESH} first calls:   ${await shortDuring(() => Promise.all(fresh.map((f) => f(20))))}`);
  for (let i = 0; i < 20; i++) await varies(0);
  console.log(
    `2. turns 50 ms:      ${await shortDuring(async () => {
      for (let i = 0; i < 20; i++) await varies(50);
      for (let i = 0; i < 20; i++) await varies(0);
    })}`,
  );
} finally {
  await getPool().close();
  fs.rmSync(dir, { recursive: true, force: true });
}
