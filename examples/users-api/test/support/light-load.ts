// A light endpoint timed while exports run: the export readers (a process of their own) and an
// open-loop pace of requests. Shared by test/export-load.test.ts and scripts/export-floor.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { setPriority } from 'node:os';

export interface ExportsRead {
  readonly exports: { status: number; lines: number; bytes: number }[];
}

/** `count` downloads of the export at once, by a process of their own at the lowest priority: clients, not the server. */
export async function runExports(base: string, count: number): Promise<ExportsRead> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'export-readers.ts'), base, `${count}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  setPriority(child.pid!, 19);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'the export readers exited');
  return JSON.parse(out) as ExportsRead;
}

/** GET `path` every `paceMs` until `until` settles (open loop); the answer times, in ms. */
export async function pace(
  base: string,
  path: string,
  agent: http.Agent,
  until: Promise<unknown>,
  paceMs: number,
): Promise<number[]> {
  const times: number[] = [];
  const pending: Promise<void>[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const started = performance.now();
    pending.push(
      new Promise<void>((resolve, reject) => {
        http
          .get(`${base}${path}`, { agent }, (response) => {
            assert.equal(response.statusCode, 200);
            response.resume();
            response.on('end', () => resolve(void times.push(performance.now() - started)));
          })
          .on('error', reject);
      }),
    );
    await new Promise((r) => setTimeout(r, paceMs));
  }
  await Promise.all(pending);
  return times;
}

/** p50, p99 and max of answer times, in ms. */
export function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
}

export const shown = (s: ReturnType<typeof summary>) =>
  `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.n} requests)`;
