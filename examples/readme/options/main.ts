// main.ts
import { Users } from '../intro/users.ts';
import { compress } from './compress.ts';

const users = new Users('users.db');
const request = new AbortController();          // an HTTP request's signal, say
console.log(await users.all.with({ signal: request.signal, timeout: 2_000 })());

const bytes = new TextEncoder().encode('smartasync '.repeat(1_000));
const packed = await compress.with({ transfer: [bytes.buffer] })(bytes);
console.log(bytes.byteLength, packed.byteLength); // 0 (moved to the worker, not copied), the gzip size
