// Loaded before each README program (node --import): at exit, writes the pool's statistics to
// $README_STATS, so that the test sees whether the program's calls ran on worker threads.
// Workers load it too (they inherit --import); there it does nothing.
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { getPool } from 'smartasync';

const file = process.env.README_STATS;
if (isMainThread && file) {
  process.on('exit', () => fs.writeFileSync(file, JSON.stringify(getPool().stats())));
  process.on('SIGTERM', () => process.exit(0)); // a server, stopped by the test
}
