// A throwaway MariaDB server for tests, in the shape of ./postgres.ts: mariadb-install-db into a
// temp dir, mariadbd on a free loopback port with its socket in that dir, as the `mysql` user
// when run as root, fresh databases handed out, everything removed after.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { claimServerDir, freePort, isAlive, killStragglers, pause, procStat } from './processes.ts';

export interface MariaDbServer {
  /** Connection URL (`mysql://...`) of a new, empty database on the server. */
  createDatabase(name: string): string;
  /** Runs SQL as root through the `mariadb` client (schema checks, faults); returns its tab-separated output. */
  sql(sql: string, database?: string): string;
  /** A restart: the server drops every connection and comes back on the same port. */
  restart(): Promise<void>;
  /** The largest number of connections the server allows (`max_connections`). */
  readonly maxConnections: number;
  /** `MariaDB 10.11.19` */
  readonly version: string;
  stop(): void;
}

const PREFIX = 'users-api-mariadb-';

/** The command that installs mariadbd, mariadb-install-db and the mariadb client (and the mysql user), on Debian. */
export const MARIADB_INSTALL = `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install mariadb-server`;

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export type MariaDbBinaries =
  { mariadbd: string; install: string; client: string; missing?: undefined } | { missing: string };

/**
 * The server's binaries: in MARIADB_BIN if set (all three there), else Debian's places. No npm
 * package ships a MariaDB server, so they are what the machine has, or `missing` says what is not.
 */
export function mariadbBinaries(): MariaDbBinaries {
  const dirs = process.env.MARIADB_BIN ? [process.env.MARIADB_BIN] : ['/usr/sbin', '/usr/bin'];
  const find = (name: string) => dirs.map((d) => join(d, name)).find(isExecutable);
  const [mariadbd, install, client] = ['mariadbd', 'mariadb-install-db', 'mariadb'].map(find);
  if (mariadbd && install && client) return { mariadbd, install, client };
  const absent = ['mariadbd', 'mariadb-install-db', 'mariadb'].filter((_, i) => ![mariadbd, install, client][i]);
  const where = process.env.MARIADB_BIN ? `MARIADB_BIN=${process.env.MARIADB_BIN}` : dirs.join(' or ');
  return { missing: `MariaDB is not installed (no ${absent.join(', ')} in ${where})` };
}

// A throwaway server: small logs, no binary log, no durability (as the PostgreSQL one).
const SERVER_OPTIONS = [
  '--no-defaults',
  '--skip-log-bin',
  '--innodb-log-file-size=8M',
  '--innodb-buffer-pool-size=64M',
  '--innodb-doublewrite=0',
  '--innodb-flush-log-at-trx-commit=0',
  '--skip-name-resolve',
];

export async function startMariaDb(): Promise<MariaDbServer> {
  const bin = mariadbBinaries();
  if (bin.missing !== undefined) {
    throw new Error(`${bin.missing}: the mysql2 tests need a real server. Install it: ${MARIADB_INSTALL}`);
  }
  // mariadbd refuses to run as root, so as root it runs as the mysql user.
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'mysql', '--', cmd, ...args]] : [cmd, args];

  // Servers of test processes that died hard are stopped first.
  const dir = claimServerDir(PREFIX, 'mysql', killStragglers);
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const pidFile = join(dir, 'mysqld.pid');
  let serverPid: number | undefined;

  const stopServer = (signal: NodeJS.Signals) => {
    const pid = serverPid;
    serverPid = undefined;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, signal);
    } catch {
      return; // gone already
    }
    const deadline = Date.now() + 30_000;
    // Gone, or a zombie of ours (spawned, not yet reaped): either way it serves nothing.
    while (isAlive(pid) && procStat(pid)?.state !== 'Z') {
      if (Date.now() > deadline) throw new Error(`mariadbd ${pid} did not stop`);
      pause(10);
    }
  };
  const stop = () => {
    try {
      stopServer('SIGKILL');
    } finally {
      killStragglers(dir);
      rmSync(dir, { recursive: true, force: true });
      process.off('exit', stop);
    }
  };
  process.on('exit', stop);

  const client = (args: string[]) => {
    try {
      return execFileSync(bin.client, ['--no-defaults', `--socket=${socket}`, '-uroot', '--batch', ...args], {
        stdio: 'pipe',
        encoding: 'utf8',
      });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`mariadb failed: ${e.stderr?.trim() || e.message}`);
    }
  };

  let port = 0;
  const startServer = async () => {
    rmSync(pidFile, { force: true });
    const [cmd, args] = as(bin.mariadbd, [
      ...SERVER_OPTIONS,
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${pidFile}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--log-error=${join(dir, 'error.log')}`,
    ]);
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.unref();
    const deadline = Date.now() + 30_000;
    for (;;) {
      // The pid file appears once the server accepts connections.
      if (existsSync(pidFile)) {
        serverPid = Number(readFileSync(pidFile, 'utf8'));
        if (serverPid > 0) return;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`mariadbd did not start: ${log.split('\n').slice(-15).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  try {
    const [cmd, args] = as(bin.install, [
      ...SERVER_OPTIONS,
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    try {
      // Asynchronously: it mostly waits, and PostgreSQL can be set up meanwhile.
      await promisify(execFile)(cmd, args, { encoding: 'utf8' });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`mariadb-install-db failed: ${e.stderr?.trim() || e.stdout?.trim() || e.message}`);
    }
    port = await freePort();
    await startServer();
    const [maxConnections, version] = client(['-N', '-e', 'SELECT @@max_connections, VERSION()']).trim().split('\t');
    return {
      createDatabase(name) {
        if (!/^\w+$/.test(name)) throw new Error(`database name ${name}: letters, digits and _ only`);
        client(['-e', `CREATE DATABASE ${name}`]);
        // root@127.0.0.1 has no password: the server listens on loopback only, in a directory of ours.
        return `mysql://root@127.0.0.1:${port}/${name}`;
      },
      sql: (sql, database) => client([...(database ? [database] : []), '-e', sql]),
      async restart() {
        stopServer('SIGTERM');
        await startServer();
      },
      maxConnections: Number(maxConnections),
      version: `MariaDB ${version?.replace(/-.*/, '')}`,
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
