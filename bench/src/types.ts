import type { Row, Small } from './tasks.ts';

/** Where a candidate sits in the comparison: the targets compare `subject` with `peer`. */
export type Kind = 'subject' | 'peer' | 'baseline' | 'floor';

/** An asynchronous offload: the main thread awaits work done on a worker. */
export interface AsyncInstance {
  noop(x: { a: number }): Promise<Small>;
  /** the 1,000 rows as objects or, for candidates that hand over JSON text, as that text */
  rows?(n: number): Promise<Row[] | string>;
  close(): Promise<void>;
}

/** The sync direction: the calling thread blocks until a worker has settled an async function. */
export interface SyncInstance {
  ping(x: { a: number }): Small;
  close(): Promise<void>;
}

export interface CandidateInfo {
  /** unique, stable id used in results.json and on the command line, e.g. `piscina:best` */
  id: string;
  /** the library (or `raw`/`floor`), used to pick each peer's best configuration */
  lib: string;
  kind: Kind;
  /** `default` = library defaults apart from pool size; `best` = tuned; `-` = no knobs */
  config: 'default' | 'best' | '-';
  /** what the configuration is, in words, for the report */
  note: string;
}

export interface AsyncCandidate extends CandidateInfo {
  /** false = this candidate only makes sense one call at a time (the Atomics floor) */
  batching: boolean;
  payload: boolean;
  /** false = payload only (a different way of returning the rows, not a different transport) */
  roundtrip?: boolean;
  create(opts: { workers: number }): Promise<AsyncInstance>;
}

export interface SyncCandidate extends CandidateInfo {
  create(): Promise<SyncInstance>;
}

/** One adapter module exports this. */
export interface AdapterModule {
  asyncCandidates?: AsyncCandidate[];
  syncCandidates?: SyncCandidate[];
}
