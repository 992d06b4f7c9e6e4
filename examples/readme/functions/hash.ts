// hash.ts
import { scryptSync } from 'node:crypto';
import { smartasync } from 'smartasync';

const salt = 'per-app salt';
export const hash = smartasync((password: string) => scryptSync(password, salt, 64).toString('hex'));
