// smartasync finds these again inside its workers by importing this module, so they live here
// rather than in the benchmark's entry scripts.
import { smartasync } from 'smartasync';
import { light as lightBody, noop as noopBody, rows as rowsBody, spin as spinBody } from '../tasks.ts';
import { lookup as lookupBody } from '../soak/work.ts';

export const noop = smartasync(function noop(x: { a: number }) {
  return noopBody(x);
});
export const rows = smartasync(function rows(n: number) {
  return rowsBody(n);
});
export const ping = smartasync(async function ping(x: { a: number }) {
  return noopBody(x);
});
export const light = smartasync(function light(x: { a: number }) {
  return lightBody(x);
});
export const spin = smartasync(function spin(x: { a: number; iters: number }) {
  return spinBody(x);
});
export const lookup = smartasync(function lookup(i: number) {
  return lookupBody(i);
});
