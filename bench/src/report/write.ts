import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Results } from '../results.ts';
import { writeCharts } from './charts.ts';
import { markdown } from './markdown.ts';
import { evaluate } from './targets.ts';

export async function writeReport(r: Results, dir: string): Promise<void> {
  const checks = evaluate(r);
  const charts = await writeCharts(r, dir);
  writeFileSync(join(dir, 'targets.json'), JSON.stringify(checks, null, 1) + '\n');
  writeFileSync(join(dir, 'results.md'), markdown(r, checks, charts));
}
