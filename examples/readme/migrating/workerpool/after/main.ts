// main.ts — a typed call, Promise<number>
import { fib } from './fibonacci.ts';

const results = await Promise.all([25, 26, 27].map((n) => fib(n)));
console.log(results.join(' '));
