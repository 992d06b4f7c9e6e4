// compress.ts
import { gzipSync } from 'node:zlib';
import { smartasync } from 'smartasync';

export const compress = smartasync((bytes: Uint8Array) => gzipSync(bytes));
