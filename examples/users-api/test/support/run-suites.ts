// `npm test` of the users API: every test file, in two groups. Files that assert how long
// something takes (a request during a freeze, an export under load, the shutdown, the HTTP
// bounds, a cluster's processes listening within 20 s) run one at a time, so that what they
// time is the server and not a neighbouring file.
// The others check outcomes only (what was stored, what was answered, what the CLI printed):
// they run two files at a time, which this 2-core machine's waits (server starts, CLI
// start-ups, database round trips) leave room for. (cli.test.ts alone keeps both cores about
// 90% busy: a cluster starting beside it took over 20 s to listen.)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const TIMED = new Set([
  'responsiveness',
  'export-load',
  'slow-readers',
  'slow-clients',
  'outage',
  'shutdown',
  'fuzz',
  'cluster',
]);
const dir = join(import.meta.dirname, '..');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();
const unknown = [...TIMED].filter((name) => !files.includes(`${name}.test.ts`));
if (unknown.length > 0) throw new Error(`run-suites.ts names test files that do not exist: ${unknown.join(', ')}`);
const timed = files.filter((f) => TIMED.has(f.slice(0, -'.test.ts'.length)));
const untimed = files.filter((f) => !timed.includes(f));

async function group(names: string[], concurrency: number): Promise<void> {
  const stream = run({ files: names.map((f) => join(dir, f)), concurrency });
  stream.on('test:fail', () => (process.exitCode = 1));
  await pipeline(stream, new spec(), process.stdout, { end: false });
}

await group(untimed, 2);
await group(timed, 1);
