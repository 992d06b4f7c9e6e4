// What the soak runner and its child processes exchange.

/** One candidate's run. */
export interface SoakJob {
  candidate: 'smartasync' | 'piscina';
  seconds: number;
  /** calls kept in flight */
  concurrency: number;
  workers: number;
  sampleMs: number;
}

/** Process memory and every worker's V8 heap at one moment (bytes). */
export interface SoakSample {
  /** seconds since the load started */
  t: number;
  /** calls settled so far */
  calls: number;
  /** of those, rejected */
  failed: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  workers: { used: number; total: number; external: number }[];
}

export type SoakLine =
  | ({ type: 'sample' } & SoakSample)
  | { type: 'end'; calls: number; failed: number; wrong: number; firstWrong: string | undefined };
