// npm run bench [-- --quick]: every comparison of issue 4, results in bench/results/.
import { parseCli, reportOnly, run } from './src/runner.ts';

const opts = parseCli(process.argv.slice(2));
if ('reportOnly' in opts) {
  await reportOnly(opts.reportOnly);
} else {
  const results = await run(opts);
  process.stderr.write(`wrote ${opts.out}/results.{json,md} and charts in ${results.meta.wallSeconds} s\n`);
}
// Peers that leave handles behind must not keep the runner alive.
process.exit(0);
