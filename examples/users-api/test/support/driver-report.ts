// What the users API tests ran each driver against, and what they skipped, in one block at the
// end of `npm test`: each test file (its own `node --test` process) records it here as it goes,
// and the last step of `npm test` prints it (`node test/support/driver-report.ts`; `--reset`
// clears it first).
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import { allDriversRequired, DRIVERS, type DriverName, LIBRARY, REQUIRE_ALL_DRIVERS } from './drivers.ts';

export type DriverRecord = { file: string; driver: DriverName } & (
  { server: string; source: string } | { skipped: string; enable: string }
);

const APP_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** One JSON record a line; USERS_API_DRIVER_REPORT moves it (the report's own tests do). */
export const reportFile = () => process.env.USERS_API_DRIVER_REPORT || join(APP_DIR, '.tmp', 'drivers.jsonl');

const written = new Set<string>();

/** Notes that this test file ran `driver` on `server` (once), or skipped a suite or test that needs it. */
export function recordDriver(record: { driver: DriverName } & DistributiveOmit<DriverRecord, 'file' | 'driver'>): void {
  const file = basename(process.argv[1] ?? 'unknown');
  const line = JSON.stringify({ file, ...record });
  if ('server' in record && written.has(line)) return;
  written.add(line);
  mkdirSync(dirname(reportFile()), { recursive: true });
  appendFileSync(reportFile(), `${line}\n`);
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The version of an npm package as the users API resolves it. */
function packageVersion(name: string): string {
  if (name.startsWith('node:')) return '';
  try {
    const entry = createRequire(join(APP_DIR, 'package.json')).resolve(name);
    const dir = entry.slice(0, entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}`.length);
    return ` ${(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version}`;
  } catch {
    return '';
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The block, and whether the run is complete (under REQUIRE_ALL_DRIVERS every driver must have run). */
export function driverReport(records: DriverRecord[], required = allDriversRequired()): { text: string; ok: boolean } {
  const rows: string[] = [];
  let ran = 0;
  for (const driver of DRIVERS) {
    const mine = records.filter((r) => r.driver === driver);
    const name = `${LIBRARY[driver]}${packageVersion(LIBRARY[driver])}`.padEnd(22);
    const runs = mine.filter((r) => 'server' in r);
    const skips = mine.filter((r) => 'skipped' in r);
    if (runs.length > 0) {
      ran++;
      const servers = [...new Set(runs.map((r) => `${r.server} (${r.source})`))].join(', ');
      rows.push(
        `${styleText('green', 'ran     ')} ${name} on ${servers}, ${plural(new Set(runs.map((r) => r.file)).size, 'file')}`,
      );
    } else if (skips.length > 0) {
      const why = [...new Set(skips.map((r) => r.skipped))].join('; ');
      const files = new Set(skips.map((r) => r.file)).size;
      const where = `${plural(skips.length, 'suite or test', 'suites and tests')} in ${plural(files, 'file')}`;
      rows.push(`${styleText(['yellow', 'bold'], 'SKIPPED ')} ${name} ${why}: ${where}`);
      for (const enable of new Set(skips.map((r) => r.enable))) rows.push(`${' '.repeat(32)}to run it: ${enable}`);
    } else {
      rows.push(`${styleText(['red', 'bold'], 'NOT RUN ')} ${name} no test got a database from it`);
    }
  }
  const ok = !required || ran === DRIVERS.length;
  const verdict =
    records.length === 0
      ? 'the users API tests did not run (an earlier step failed?)'
      : `${ran} of ${DRIVERS.length} drivers ran against a real database`;
  const rule = (text: string) => `${text} ${'─'.repeat(Math.max(4, 96 - text.length))}`;
  const lines = [
    '',
    rule('┌─ users API: each driver and the real database it ran against'),
    ...rows.map((row) => `│ ${row}`),
    `└─ ${verdict}. ${
      required
        ? ok
          ? `${REQUIRE_ALL_DRIVERS} is set: all ran, as required.`
          : styleText(['red', 'bold'], `${REQUIRE_ALL_DRIVERS} is set: every driver must run; this run fails.`)
        : ran < DRIVERS.length
          ? `CI sets ${REQUIRE_ALL_DRIVERS}=1, under which a missing server fails the run.`
          : ''
    }`.trimEnd(),
    '',
  ];
  return { text: lines.join('\n'), ok };
}

export function readRecords(): DriverRecord[] {
  if (!existsSync(reportFile())) return [];
  return readFileSync(reportFile(), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DriverRecord);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--reset')) {
    rmSync(reportFile(), { force: true });
  } else {
    const { text, ok } = driverReport(readRecords());
    console.log(text);
    process.exitCode = ok ? 0 : 1;
  }
}
