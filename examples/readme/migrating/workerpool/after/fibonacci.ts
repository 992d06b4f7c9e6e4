// fibonacci.ts — the function, wrapped where it is defined
import { smartasync } from 'smartasync';

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

export const fib = smartasync(fibonacci);
