// The hand-written baseline: one postMessage per call each way, the smallest protocol that
// still correlates replies with calls.
import { parentPort } from 'node:worker_threads';
import { noop, rows } from '../tasks.ts';

const port = parentPort!;
// op 0: noop; op 1: rows as objects; op 2: rows as JSON text made here (a string clones as
// one flat copy, so the receiving thread does almost no work).
port.on('message', (m: [number, 0, { a: number }] | [number, 1 | 2, number]) => {
  const [id, op, arg] = m;
  const result =
    op === 0 ? noop(arg as { a: number }) : op === 1 ? rows(arg as number) : JSON.stringify(rows(arg as number));
  port.postMessage([id, result]);
});
