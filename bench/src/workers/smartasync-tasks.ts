// smartasync finds these again inside its workers by importing this module, so they live
// here rather than in the benchmark's entry script.
import { smartasync } from 'smartasync';
import { noop as noopBody, rows as rowsBody } from '../tasks.ts';

export const noop = smartasync(function noop(x: { a: number }) {
  return noopBody(x);
});

export const rows = smartasync(function rows(n: number) {
  return rowsBody(n);
});

export const ping = smartasync(async function ping(x: { a: number }) {
  return noopBody(x);
});
