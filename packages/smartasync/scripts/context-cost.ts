// node scripts/context-cost.ts [--rounds=10 --calls=4000]: what a carried context costs a call
// (issue 17). One worker, calls one at a time, in interleaved blocks of three kinds: made
// outside any store (what every call of an app without carryContext pays, plus the check that
// there is nothing to carry), inside a store holding one request's context (the same object
// for the whole block: sent once per worker, then named), and inside a fresh context per call
// (copied every time). Prints each kind's median round trip and its ratio to the first.
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configure, getPool } from 'smartasync';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '4000' } },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);

// The store and the function live in a module of their own, as carryContext asks.
const dir = fs.mkdtempSync(path.join(import.meta.dirname, '.context-cost-'));
const file = path.join(dir, 'target.ts');
fs.writeFileSync(
  file,
  [
    "import { AsyncLocalStorage } from 'node:async_hooks';",
    "import { carryContext, smartasync } from 'smartasync';",
    'export const request = carryContext(new AsyncLocalStorage<{ reqId: string; user: string; tenant: string }>());',
    'export const read = smartasync(function read(a: number) { return a + (request.getStore() ? 1 : 0); });',
  ].join('\n'),
);
type Ctx = { reqId: string; user: string; tenant: string };
const { request, read } = (await import(file)) as {
  request: AsyncLocalStorage<Ctx>;
  read: (a: number) => Promise<number>;
};

const ctx = (i: number): Ctx => ({ reqId: `req-${i}`, user: `user-${i % 100}@example.com`, tenant: `tenant-${i % 7}` });
const kinds: Record<string, () => Promise<void>> = {
  'no store': async () => {
    for (let i = 0; i < calls; i++) await read(i);
  },
  'one context, same object': () =>
    request.run(ctx(0), async () => {
      for (let i = 0; i < calls; i++) await read(i);
    }),
  'a fresh context per call': async () => {
    for (let i = 0; i < calls; i++) await request.run(ctx(i), () => read(i));
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
try {
  configure({ size: 1 });
  await getPool().warm();
  for (const run of Object.values(kinds)) await run(); // warm-up
  const names = Object.keys(kinds);
  const us = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      const t0 = performance.now();
      await kinds[name]!();
      us.get(name)!.push(((performance.now() - t0) * 1000) / calls);
    }
  }
  const base = us.get('no store')!;
  for (const name of names) {
    const xs = us.get(name)!;
    const ratios = xs.map((x, i) => x / base[i]!);
    console.log(`${name.padEnd(26)} ${median(xs).toFixed(1)} µs per call, ${median(ratios).toFixed(3)}x no store`);
  }
} finally {
  await getPool().close();
  fs.rmSync(dir, { recursive: true, force: true });
}
