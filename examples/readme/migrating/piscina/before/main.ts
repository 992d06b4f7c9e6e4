// main.ts — one task object in, one value out, typed any
import { Piscina } from 'piscina';

const pool = new Piscina({ filename: new URL('./worker.ts', import.meta.url).href });
const passwords = ['correct horse', 'battery staple', 'hunter2'];
const hashes = await Promise.all(passwords.map((password) => pool.run({ password, salt: 'per-app salt' })));
console.log(hashes.join('\n'));
await pool.close();
