// Worker module for piscina and tinypool: the default export handles `noop`, the named
// exports `rows` and `echo` are selected per call with `{ name: 'rows' }`.
export { noop as default, rows } from '../tasks.ts';
export const echo = <T>(x: T): T => x;
