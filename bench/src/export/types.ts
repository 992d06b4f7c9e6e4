export type Candidate = 'stream' | 'all' | 'piscina';

export const CANDIDATES: { id: Candidate; note: string }[] = [
  {
    id: 'stream',
    note: 'users-api as it is: DatabaseManager.exportUsers, a generator over better-sqlite3 .iterate(), run by smartasync on a worker',
  },
  {
    id: 'all',
    note: '`await store.getAllUsers()` (smartasync, .all() on a worker): every row in one array, then written out',
  },
  {
    id: 'piscina',
    note: 'manual piscina build: a task streaming 256-row batches through a MessagePort, credit-based backpressure (bench/src/workers/export-task.ts)',
  },
];

/** One export of every row by one candidate, in its own server process. */
export interface ExportRun {
  candidate: Candidate;
  round: number;
  /** From the request to the last byte read by the client. */
  ms: number;
  bytes: number;
  lines: number;
  /** The server's RSS before the export, and its peak during it (sampled every 5 ms from /proc). */
  rssBeforeMb: number;
  rssPeakMb: number;
  /** Light requests (GET /users/:id): p50/p99 alone, just before, and during the export. */
  lightAlone: { count: number; p50Ms: number; p99Ms: number };
  lightDuring: { count: number; p50Ms: number; p99Ms: number };
}
