// A job in its own process, `child.ts <module URL> <function> <job.json> <out.json>` (see
// runChild): smartasync's pool size is per process, pinning applies to a whole process, and a
// candidate that leaks threads or handles cannot disturb the next job.
import { readFileSync, writeFileSync } from 'node:fs';

const [mod, fn, jobFile, outFile] = process.argv.slice(2) as [string, string, string, string];
const run = ((await import(mod)) as Record<string, (job: unknown) => Promise<unknown>>)[fn]!;
writeFileSync(outFile, JSON.stringify(await run(JSON.parse(readFileSync(jobFile, 'utf8')))));
// Some pools keep handles open after close; the result is written, so leave now.
process.exit(0);
