// Running a job in a child process, pinned or not, with a hard time limit: a sync candidate
// that never answers blocks its thread for good, and only the parent can end it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobResult } from './job.ts';

const childEntry = fileURLToPath(new URL('./child.ts', import.meta.url));

let tasksetOk: boolean | undefined;
export function hasTaskset(): boolean {
  tasksetOk ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetOk;
}

export interface SpawnOptions {
  timeoutMs: number;
  /** extra node flags, e.g. --cpu-prof */
  nodeArgs?: string[];
  entry?: string;
  log: (m: string) => void;
}

export function pinnedCommand(pinned: boolean, args: string[]): [string, string[]] {
  return pinned ? ['taskset', ['-c', '0', ...args]] : [args[0]!, args.slice(1)];
}

export async function runChild<T = JobResult>(job: unknown, pinned: boolean, o: SpawnOptions): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-'));
  const jobFile = join(dir, 'job.json');
  const outFile = join(dir, 'out.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const [cmd, args] = pinnedCommand(pinned, [
    process.execPath,
    '--expose-gc',
    ...(o.nodeArgs ?? []),
    o.entry ?? childEntry,
    jobFile,
    outFile,
  ]);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        const s = d.toString();
        stderr += s;
        for (const line of s.split('\n')) if (line.trim()) o.log(line);
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`job exceeded ${o.timeoutMs / 1000} s and was killed`));
      }, o.timeoutMs);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(new Error(`child exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
    return JSON.parse(readFileSync(outFile, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
