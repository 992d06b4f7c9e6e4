import workerpool from 'workerpool';
import { noop, rows } from '../tasks.ts';

workerpool.worker({ noop, rows });
