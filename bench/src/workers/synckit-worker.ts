import { runAsWorker } from 'synckit';
import { noop } from '../tasks.ts';

runAsWorker(async (x: { a: number }) => noop(x));
