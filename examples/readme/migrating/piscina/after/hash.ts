// hash.ts — the same function, wrapped where it is defined
import { scryptSync } from 'node:crypto';
import { smartasync } from 'smartasync';

export const hash = smartasync((password: string, salt: string) => scryptSync(password, salt, 64).toString('hex'));
