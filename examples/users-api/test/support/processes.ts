// Process helpers shared by the throwaway database servers (./postgres.ts, ./mariadb.ts).
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fields 3 (state) and 4 (parent) of /proc/PID/stat; the command before them may hold spaces. */
export function procStat(pid: number): { state: string; parent: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, parent: Number(parent) };
  } catch {
    return undefined;
  }
}

export function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => procStat(pid)?.parent === parent);
}

export const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Ends every process whose command line names `dir` (a server started for it, or a child it
 * forked): what a stop may leave behind when the server was frozen or its owner died.
 */
export function killStragglers(dir: string): void {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!args.some((arg) => arg === dir || arg.startsWith(`${dir}/`) || arg.includes(`=${dir}/`))) continue;
      process.kill(Number(name), 'SIGCONT');
      process.kill(Number(name), 'SIGKILL');
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
}

/**
 * A fresh temp directory for a throwaway server, named `prefix`..., marked with this process's
 * pid and owned by `user` when this runs as root (the servers refuse to run as root). First it
 * clears the directories of earlier test processes that died hard, which could not stop their
 * server: `stopStale` stops what still runs in one, then it is removed. A directory without an
 * owner file is being set up, or not ours, and is left alone.
 */
export function claimServerDir(prefix: string, user: string, stopStale: (dir: string) => void): string {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(prefix))) {
    const stale = join(tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(stale, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (isAlive(owner)) continue;
    stopStale(stale);
    rmSync(stale, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  return dir;
}
