// smartasync finds these again inside its workers by importing this module, so they live
// here rather than in the benchmark's entry script.
import { smartasync } from 'smartasync';
import { light as lightBody, spin as spinBody } from '../traffic/work.ts';

export const light = smartasync(function light(x: { a: number }) {
  return lightBody(x);
});

export const spin = smartasync(function spin(x: { a: number; iters: number }) {
  return spinBody(x);
});
