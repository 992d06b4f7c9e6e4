// The shape of results.json: everything the report and the charts are made from.
import type { JobResult } from './job.ts';
import type { ThreadProfile } from './profile.ts';
import type { AppResult } from './app/types.ts';
import type { TrafficResult } from './traffic/types.ts';

export interface Meta {
  date: string;
  size: 'smoke' | 'quick' | 'full';
  command: string;
  node: string;
  cpus: number;
  cpuModel: string;
  platform: string;
  commit: string;
  smartasyncVersion: string | null;
  /** fingerprint of smartasync's built files at the start and the end of the run */
  smartasyncBuild: string | null;
  smartasyncBuildAfter?: string | null;
  pinningAvailable: boolean;
  loadavgBefore: number[];
  loadavgAfter?: number[];
  /** cores that other processes kept busy on average during the run (from /proc/stat), where known */
  otherCores?: number;
  wallSeconds?: number;
}

export interface ProfileResult {
  /** which job was profiled: section, pool size, candidate */
  label: string;
  section: string;
  candidate: string;
  workers: number;
  /** calls made in the profiled (measured) rounds: self time / calls = cost per call */
  calls: number;
  threads: ThreadProfile[];
  error?: string;
}

export interface Results {
  meta: Meta;
  jobs: (JobResult | { job: JobResult['job']; error: string })[];
  app?: AppResult | { error: string };
  /** section 6, server traffic (issue 7) */
  traffic?: TrafficResult | { error: string };
  profiles: ProfileResult[];
}
