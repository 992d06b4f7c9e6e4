// Worker module for piscina and tinypool: the default export handles `noop`, the named
// export `rows` is selected per call with `{ name: 'rows' }`.
export { noop as default, rows } from '../tasks.ts';
