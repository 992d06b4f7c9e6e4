// The shape of the traffic section in results.json.
import type { Spread } from '../stats.ts';
import type { Kind } from '../types.ts';
import type { Dist, Recorded } from './hist.ts';
import type { TrafficParams } from './params.ts';
import type { StartInfo } from './candidates.ts';

export const GAPS = ['setImmediate', '1ms', '10ms'] as const;
export type Gap = (typeof GAPS)[number];

export interface CandidateMeta {
  id: string;
  lib: string;
  kind: Kind;
  note: string;
  start?: StartInfo;
  error?: string;
}

export interface SpacedCandidate extends CandidateMeta {
  /** per gap: every measured call pooled, and the spread of the per-round p99 */
  gaps: Partial<Record<Gap, Recorded & { p99Rounds: Spread }>>;
}

export interface SpacedResult {
  rounds: number;
  calls: number;
  workers: number;
  /** iterations of the slower calls that drive the state before each block (≈ 3 ms) */
  slowIters: number;
  candidates: SpacedCandidate[];
}

export interface OpenLoopPoint {
  /** offered calls/s */
  rate: number;
  /** completed calls/s over the measurement */
  achieved: number;
  rec: Recorded;
  p99Rounds: Spread;
}

export interface OpenLoopCandidate extends CandidateMeta {
  /** closed-loop calls/s (64 in flight) measured in this run */
  saturation?: number;
  points: OpenLoopPoint[];
}

export interface OpenLoopResult {
  rounds: number;
  seconds: number;
  workers: number;
  workMs: number;
  workIters: number;
  inFlight: number;
  /** the lowest closed-loop throughput among the candidates: the rates are fractions of it */
  saturation: number;
  rates: number[];
  candidates: OpenLoopCandidate[];
}

export interface MixedCandidate extends CandidateMeta {
  /** light calls with nothing else running */
  alone?: Recorded;
  /** light calls while long calls keep every worker busy */
  loaded?: Recorded;
  p99AloneRounds?: Spread;
  p99LoadedRounds?: Spread;
  /** long calls/s without, and with, the light calls */
  longAlone?: Spread;
  longLoaded?: Spread;
  /** median run time of one long call on its worker, ms, without and with light calls */
  longRunMs?: { alone: number; loaded: number };
}

export interface MixedResult {
  rounds: number;
  seconds: number;
  workers: number;
  longMs: number;
  longIters: number;
  longCallers: number;
  lightEveryMs: number;
  candidates: MixedCandidate[];
}

export interface IdleCandidate {
  id: string;
  lib: string;
  kind: Kind;
  start?: StartInfo;
  /** the first call after start (and warm-up, where there is one), ms */
  firstCallMs?: number;
  /** median of 20 calls after that, ms */
  warmCallMs?: number;
  /** one call after the idle window, ms */
  afterIdleCallMs?: number;
  workers?: number;
  seconds: number;
  /** process CPU over the idle window, ms, and as a share of one core */
  cpuMs?: number;
  coreShare?: number;
  /** CPU ms by thread over the window (from /proc/self/task), where available */
  threads?: { main: number; workers: number; other: number };
  /** context switches per second of the worker threads and of the main thread: how often they wake */
  wakeupsPerS?: { workers: number; main: number };
  error?: string;
}

export interface IdleResult {
  seconds: number;
  workers: number;
  candidates: IdleCandidate[];
}

export type AppBuild = 'smartasync' | 'manual-piscina' | 'naive';

export interface AppScenarioFigures {
  build: AppBuild;
  /** `alone`, `with-report` or `open-<rate>` */
  scenario: string;
  /** offered requests/s (open loop only) */
  rate?: number;
  achieved: number;
  latency: Dist;
  errors: number;
  /** the report load, in with-report */
  report?: { requestsPerSec: number; p50Ms: number };
  /** smartasync build: pool statistics over the measurement */
  pool?: { calls: number; meanWaitMs: number; meanRunMs: number; maxWaitMs: number };
  /** the server's event-loop delay over the measurement */
  loop?: { p50Ms: number; p99Ms: number; maxMs: number };
  p99Rounds: Spread;
}

export interface FirstRequest {
  build: AppBuild | 'smartasync (npm start)';
  /** how the server was started */
  entry: string;
  /**
   * Per fresh start: ms from spawn to listening, first request ms, warm request ms (median), and
   * the worker threads the server process had when the first request was sent and once it was answered.
   */
  starts: { listenMs: number; firstMs: number; warmMs: number; workersAtFirst?: number; workersAfterFirst?: number }[];
  firstMs: number;
  warmMs: number;
  listenMs: number;
  error?: string;
}

export interface TrafficAppResult {
  rounds: number;
  seconds: number;
  openSeconds: number;
  rates: number[];
  lightConnections: number;
  reportConnections: number;
  builds: { build: AppBuild; note: string }[];
  scenarios: AppScenarioFigures[];
  firstRequest: FirstRequest[];
  errors: { build: string; error: string }[];
}

export type Part<T> = T | { error: string };

export interface TrafficResult {
  params: TrafficParams;
  spaced?: Part<SpacedResult>;
  openloop?: Part<OpenLoopResult>;
  mixed?: Part<MixedResult>;
  idle?: Part<IdleResult>;
  app?: Part<TrafficAppResult>;
}

export function ok<T extends object>(p: Part<T> | undefined): T | undefined {
  return p && !('error' in p) ? (p as T) : undefined;
}
