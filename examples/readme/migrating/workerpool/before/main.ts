// main.ts — calls by name, with the arguments in an array, typed any
import workerpool from 'workerpool';

const pool = workerpool.pool(new URL('./worker.ts', import.meta.url).pathname);
const results = await Promise.all([25, 26, 27].map((n) => pool.exec('fibonacci', [n])));
console.log(results.join(' '));
await pool.terminate();
