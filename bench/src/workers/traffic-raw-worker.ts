// The hand-written worker of the traffic comparison, as a user would write it: one
// postMessage per call each way, replies matched by id.
import { parentPort } from 'node:worker_threads';
import { light, spin } from '../traffic/work.ts';

const port = parentPort!;
port.on('message', (m: [number, 0, { a: number }] | [number, 1, { a: number; iters: number }]) => {
  const [id, op, arg] = m;
  port.postMessage([id, op === 0 ? light(arg) : spin(arg as { a: number; iters: number })]);
});
