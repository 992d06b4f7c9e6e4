import type { DataMode } from '../../src/db/store.ts';

export const TEST_MODE: DataMode = 'inline';

export function setUpPool(): void {}
