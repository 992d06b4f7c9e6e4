// Worker module for piscina and tinypool: the default export is the no-op; the others are picked
// per call with `{ name }` (piscina's micro rows, traffic and soak calls, bench:compare's echo).
export { noop as default, rows, light, spin } from '../tasks.ts';
export const echo = <T>(x: T): T => x;
export { lookup } from '../soak/work.ts';
