import { configure } from 'smartasync';
import type { DataMode } from '../../src/db/store.ts';

export const TEST_MODE: DataMode = 'smartasync';

/** Several workers even on a small CI machine, so concurrency goes through several connections. */
export function setUpPool(): void {
  configure({ size: 4 });
}
