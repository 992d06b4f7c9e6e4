// The hand-written baseline: one postMessage per call each way, the smallest protocol that still
// correlates replies with calls. Op 2 sends the rows as JSON text made here (a string clones as one
// flat copy, so the receiving thread does almost no work).
import { parentPort } from 'node:worker_threads';
import { lookup } from '../soak/work.ts';
import { light, noop, rows, spin } from '../tasks.ts';

const port = parentPort!;
const ops = [noop, rows, (n: number) => JSON.stringify(rows(n)), light, spin, lookup] as ((x: never) => unknown)[];
port.on('message', ([id, op, arg]: [number, number, never]) => port.postMessage([id, ops[op]!(arg)]));
