// What the runner asks one child process to measure, and what the child sends back.
import type { Spread } from './stats.ts';
import type { CandidateInfo } from './types.ts';

export type Section = 'roundtrip' | 'throughput' | 'payload' | 'sync';
export type Mode = 'unpinned' | 'pinned';

export interface Job {
  section: Section;
  mode: Mode;
  workers: number;
  /** measured rounds; each round runs one block per candidate, in rotated order */
  rounds: number;
  /** calls per block */
  block: number;
  /** throughput only: calls kept in flight */
  inFlight: number;
  only?: string[];
  adapters: string[];
}

export interface CandidateResult extends CandidateInfo {
  error?: string;
  /** per-metric spread over the rounds: each round contributes one value */
  metrics: Record<string, Spread>;
  /** percentiles over every call of every round pooled together (latency sections) */
  pooled?: { p50: number; p90: number; p99: number; max: number; calls: number };
  /** raw per-round values, kept so the spread can be recomputed */
  perRound: Record<string, number[]>;
}

export interface JobResult {
  job: Job;
  startedAt: string;
  wallSeconds: number;
  /** monotonic clock (µs) at the start and end of the measured rounds */
  measuredUs: [number, number];
  unavailable: { adapter: string; error: string }[];
  candidates: CandidateResult[];
}
