// smartasync finds this function again inside its workers by importing this module.
import { smartasync } from 'smartasync';
import { lookup as body } from '../soak/work.ts';

export const lookup = smartasync(function lookup(i: number) {
  return body(i);
});
