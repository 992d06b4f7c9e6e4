// The option types the migration guide's table is checked against (migrating.test.ts reads their
// properties with the TypeScript compiler): piscina's and workerpool's, as installed, and ours.
import type { Piscina } from 'piscina';
import type workerpool from 'workerpool';
import type { CallOptions, DurationStats, PoolOptions, PoolStats } from 'smartasync';

export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
export type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;
export type PiscinaCloseOptions = NonNullable<Parameters<Piscina['close']>[0]>;
export type WorkerpoolOptions = workerpool.WorkerPoolOptions;
export type WorkerpoolExecOptions = NonNullable<Parameters<workerpool.Pool['exec']>[2]>;
export type WorkerpoolWorkerOptions = NonNullable<Parameters<typeof workerpool.worker>[1]>;
export type OurPoolOptions = PoolOptions;
export type OurCallOptions = CallOptions;
export type OurPoolStats = PoolStats;
export type OurDurationStats = DurationStats;
