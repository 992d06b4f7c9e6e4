// smartasync finds these again inside its workers by importing this module, so they live here
// rather than in the benchmark's entry scripts.
import { smartasync } from 'smartasync';
import { light as lightBody, noop as noopBody, rows as rowsBody, spin as spinBody } from '../tasks.ts';
import { lookup as lookupBody } from '../soak/work.ts';

// The bodies are wrapped as they are (as each peer's worker file exports them); `ping` is the async
// function whose `.sync()` the sync direction calls.
export const noop = smartasync(noopBody);
export const rows = smartasync(rowsBody);
export const ping = smartasync(async function ping(x: { a: number }) {
  return noopBody(x);
});
export const light = smartasync(lightBody);
export const spin = smartasync(spinBody);
export const lookup = smartasync(lookupBody);
