// The hand-written baseline: one postMessage per call each way, the smallest protocol that
// still correlates replies with calls.
import { parentPort } from 'node:worker_threads';
import { noop, rows } from '../tasks.ts';

const port = parentPort!;
port.on('message', (m: [number, 0, { a: number }] | [number, 1, number]) => {
  const [id, op, arg] = m;
  port.postMessage([id, op === 0 ? noop(arg as { a: number }) : rows(arg as number)]);
});
