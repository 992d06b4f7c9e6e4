// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free loopback
// port with its unix socket in that dir, hand out fresh databases, remove everything after.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import PgClient from 'pg-native';
import { childrenOf, claimServerDir, freePort, killStragglers, pause, procStat } from './processes.ts';

export interface PostgresCluster {
  /** Connection URL of a new, empty database in the cluster. */
  createDatabase(name: string): string;
  /** A fast restart: the server drops every connection and comes back. */
  restart(): void;
  /** Stops the server (fast shutdown: connections are dropped); `start()` brings it back. */
  stopServer(): void;
  /** Starts the server again after `stopServer()`, on the same port. */
  startServer(): void;
  /**
   * SIGSTOP on the server and every backend: connections stay open and the kernel still
   * accepts and acknowledges, but nothing answers (a hung host, a stalled disk). `thaw()`
   * sends SIGCONT.
   */
  freeze(): void;
  thaw(): void;
  stop(): void;
}

function findBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'initdb'))) throw new Error(`PG_BIN=${fromEnv} has no initdb`);
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb, or set PG_BIN). ' +
        "Install Debian's `postgresql` package (.ci/run does this); the PostgreSQL driver tests need a real server.",
    );
  }
  return join(root, versions[0]!, 'bin');
}

const PREFIX = 'users-api-pg-';

function postmasterPid(data: string): number {
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/**
 * SIGSTOP on the postmaster first, so that it forks no new backend, then on every child, until
 * each one is seen stopped: a freeze that missed a backend forked meanwhile would let a query
 * through.
 */
function freezeServer(data: string, frozen: number[]): void {
  // `frozen` is the caller's: filled as we go, so that thaw() resumes all of them even if
  // this throws half-way.
  const postmaster = postmasterPid(data);
  frozen.push(postmaster);
  process.kill(postmaster, 'SIGSTOP');
  const deadline = Date.now() + 5000;
  for (;;) {
    const missed = childrenOf(postmaster).filter((pid) => !frozen.includes(pid));
    for (const pid of missed) {
      process.kill(pid, 'SIGSTOP');
      frozen.push(pid);
    }
    // Stopped (T, t); or gone: exited (Z, X: a backend that exits while the postmaster is
    // stopped stays a zombie, unreaped) or no longer there.
    const running = frozen.filter((pid) => {
      const state = procStat(pid)?.state;
      return state !== undefined && !['T', 't', 'Z', 'X'].includes(state);
    });
    if (missed.length === 0 && running.length === 0) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${running.join(', ')} did not stop`);
    pause(1);
  }
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findBinDir();
  // initdb and postgres refuse to run as root, so as root we run them as the postgres user.
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    try {
      return execFileSync(cmd, argv, { stdio: 'pipe', encoding: 'utf8' });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${tool} failed: ${e.stderr?.trim() || e.message}`);
    }
  };

  // Clusters of test processes that died hard (a native crash, SIGKILL) are stopped first.
  const dir = claimServerDir(PREFIX, 'postgres', (stale) => {
    try {
      if (existsSync(join(stale, 'data', 'postmaster.pid')))
        run('pg_ctl', ['stop', '-D', join(stale, 'data'), '-m', 'immediate', '-w']);
    } catch {
      // Not running after all.
    }
  });
  const data = join(dir, 'data');
  let running = false;
  const frozen: number[] = [];
  const thawAll = () => {
    for (const pid of frozen.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone already.
      }
    }
  };
  const stop = () => {
    thawAll();
    if (running) {
      running = false;
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        // Already gone; removing the directory is all that is left.
      }
      killStragglers(dir);
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', stop);
  };
  process.on('exit', stop);

  try {
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    // Durability is pointless for a throwaway cluster; turning it off keeps the tests fast.
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    run('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options]);
    running = true;
    const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    return {
      createDatabase(name) {
        const client = new PgClient();
        client.connectSync(admin);
        try {
          client.querySync(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        } finally {
          client.end();
        }
        return `postgresql://postgres@127.0.0.1:${port}/${name}`;
      },
      restart() {
        thawAll();
        run('pg_ctl', [
          'restart',
          '-D',
          data,
          '-m',
          'fast',
          '-w',
          '-t',
          '30',
          '-l',
          join(dir, 'server.log'),
          '-o',
          options,
        ]);
      },
      stopServer() {
        thawAll();
        run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
      },
      startServer() {
        run('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options]);
      },
      freeze() {
        freezeServer(data, frozen);
      },
      thaw: thawAll,
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
