// The shape of results.json, everything the report and the charts are made from: each part's type
// is what the scenario that measured it returns.
import type { AppResult } from './app/users-api.ts';
import type { Job, JobResult } from './micro.ts';
import type { runMeta } from './lib/proc.ts';
import type { Size, TrafficParams } from './plan.ts';
import type { ThreadProfile } from './profile.ts';
import type { TrafficAppResult } from './traffic/app.ts';
import type { IdleResult } from './traffic/idle.ts';
import type { MixedResult } from './traffic/mixed.ts';
import type { OpenLoopResult } from './traffic/openloop.ts';
import type { SpacedResult } from './traffic/spaced.ts';

export type Failed = { error: string };
export type Part<T> = T | Failed;
export const ok = <T extends object>(p: Part<T> | undefined): T | undefined =>
  p && !('error' in p) ? (p as T) : undefined;

export type Meta = ReturnType<typeof runMeta> & {
  size: Size;
  pinningAvailable: boolean;
  /** fingerprint of smartasync's built files at the end: a rebuild in the middle would mix two versions */
  smartasyncBuildAfter?: string | null;
  loadavgAfter?: number[];
  /** cores other processes kept busy on average during the run (/proc/stat), where known */
  otherCores?: number;
  wallSeconds?: number;
};

/** A CPU profile of the subject in one job: `calls` made in the measured rounds, self time per thread. */
export interface ProfileResult {
  label: string;
  section: string;
  candidate: string;
  workers: number;
  calls: number;
  threads: ThreadProfile[];
  error?: string;
}

export interface TrafficResult {
  params: TrafficParams;
  spaced?: Part<SpacedResult>;
  openloop?: Part<OpenLoopResult>;
  mixed?: Part<MixedResult>;
  idle?: Part<IdleResult>;
  app?: Part<TrafficAppResult>;
}

export interface Results {
  meta: Meta;
  jobs: (JobResult | { job: Job; error: string })[];
  app?: Part<AppResult>;
  /** section 6, server traffic (issue 7) */
  traffic?: Part<TrafficResult>;
  profiles: ProfileResult[];
}
