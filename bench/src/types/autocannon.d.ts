// The small part of autocannon's API the application benchmarks use (it ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface Result {
    requests: { total: number };
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    requests?: { setupRequest?: (req: { path?: string }) => { path?: string } }[];
  }
  function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): EventEmitter & { stop(): void };
  export default autocannon;
}
