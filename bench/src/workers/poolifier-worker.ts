import { ThreadWorker } from 'poolifier';
import { noop, rows } from '../tasks.ts';

// poolifier's task functions take one `data` argument, so both fit as they are.
export default new ThreadWorker<{ a: number } | number, unknown>({
  noop: (x) => noop(x as { a: number }),
  rows: (n) => rows(n as number),
});
