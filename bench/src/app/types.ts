export type Build = 'naive' | 'manual-piscina' | 'smartasync' | 'smartasync-auto';
/**
 * `with-cpu-hog` is a control, run on the smartasync build only: a separate process spins on
 * one core for the whole measurement, taking the CPU the report would take without touching
 * the server. Light p99 there is what the machine's cores allow, whatever the library does.
 */
export type Scenario = 'alone' | 'with-report' | 'with-cpu-hog';

export interface LoadFigures {
  requestsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** share of requests slower than 2 ms: a few times the light endpoint's usual latency */
  over2msShare: number;
  /** share of requests slower than 10 ms: in the report scenario, those that waited behind a report */
  over10msShare: number;
}

/** CPU time per light request over one measurement, by thread (from /proc/<pid>/task/<tid>/stat). */
export interface CpuSplit {
  /** the server's event-loop thread */
  mainUs: number;
  /** the server's worker threads (smartasync or piscina pool) */
  workersUs: number;
  /** the server's other threads: V8's GC helpers, libuv's thread pool */
  otherUs: number;
  /** the load generator (autocannon, in the runner process) */
  loadgenUs: number;
}

/** How late the server's event loop ran over one measurement (perf_hooks.monitorEventLoopDelay). */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The smartasync pool's own statistics over one measurement (from the app's /metrics). */
export interface PoolDelta {
  calls: number;
  meanWaitMs: number;
  meanRunMs: number;
  maxWaitMs: number;
}

export interface AppMeasurement {
  build: Build;
  scenario: Scenario;
  round: number;
  light: LoadFigures;
  /** the concurrent heavy load, in the with-report scenario */
  report?: LoadFigures;
  pool?: PoolDelta;
  cpu?: CpuSplit;
  loop?: LoopDelay;
}

export interface AppResult {
  params: {
    seconds: number;
    rounds: number;
    lightConnections: number;
    reportConnections: number;
    users: number;
    reportCost: number;
    builds: { build: Build; note: string }[];
  };
  measurements: AppMeasurement[];
  /** median over rounds per build and scenario */
  summary: {
    build: Build;
    scenario: Scenario;
    light: LoadFigures;
    report?: LoadFigures;
    pool?: PoolDelta;
    cpu?: CpuSplit;
    loop?: LoopDelay;
  }[];
  errors: { build: Build; error: string }[];
}
