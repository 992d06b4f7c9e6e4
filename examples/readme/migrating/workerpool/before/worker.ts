// worker.ts — a worker script that registers its functions by name
import workerpool from 'workerpool';

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

workerpool.worker({ fibonacci });
