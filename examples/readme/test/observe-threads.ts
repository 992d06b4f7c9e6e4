// Loaded before each migration guide program (node --import): at exit, writes to $THREADS_STATS
// how many worker threads the process started, whichever library started them, and
// smartasync's pool statistics. Workers load it too (they inherit --import); there it does nothing.
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { getPool } from 'smartasync';

const file = process.env.THREADS_STATS;
if (isMainThread && file) {
  let threads = 0;
  process.on('worker', () => threads++);
  process.on('exit', () => fs.writeFileSync(file, JSON.stringify({ threads, pool: getPool().stats() })));
}
