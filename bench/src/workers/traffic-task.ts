// Worker module for piscina in the traffic comparison: the default export is the light call,
// `spin` is selected per call with `{ name: 'spin' }`.
export { light as default, spin } from '../traffic/work.ts';
