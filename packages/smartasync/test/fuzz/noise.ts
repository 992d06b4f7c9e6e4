// How much the machine held threads up during a run: the longest a plain worker thread ticking
// every millisecond was late. Waits that include such a hold-up are not the scheduler's doing,
// so the fuzzer's bounds allow it (on a quiet machine it is a millisecond or two).
import { Worker } from 'node:worker_threads';

const TICKER = `
const { workerData } = require('node:worker_threads');
const worst = new Float64Array(workerData);
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  worst[0] = Math.max(worst[0], now - last - 1);
  last = now;
}, 1);
`;

export class Noise {
  private readonly shared = new SharedArrayBuffer(8);
  private readonly worst = new Float64Array(this.shared);
  private readonly worker = new Worker(TICKER, { eval: true, workerData: this.shared });

  constructor() {
    this.worker.unref();
  }

  /** Starts a new measurement. */
  reset(): void {
    this.worst[0] = 0;
  }

  /** The longest hold-up since the last reset, in ms. */
  get worstMs(): number {
    return this.worst[0]!;
  }
}
