import { configure } from 'smartasync';
import type { DataMode } from '../../src/db/store.ts';
import { WORKER_NICE } from '../../src/config.ts';

export const TEST_MODE: DataMode = 'smartasync';

export const POOL_SIZE = 4;

/**
 * Several workers even on a small CI machine, so concurrency goes through several connections;
 * below the event loop, as the server runs them (src/main.ts).
 */
export function setUpPool(): void {
  configure({ size: POOL_SIZE, workerNice: WORKER_NICE });
}
