// The real server process, as `npm start` runs it, for tests that signal or kill it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', '..');

export interface Server {
  child: ChildProcess;
  base: string;
  /** The JSON log lines, parsed. */
  logs: Record<string, unknown>[];
  /** What the process wrote to stderr (a native abort would show here). */
  stderr(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** The Node options `npm start` gives the server: the OpenTelemetry preload (a no-op unless OTEL_* asks). */
export const START_FLAGS = ['--import', './src/tracing.ts'];

/**
 * Starts `src/main.ts` (or `entry`, such as `src/cluster.ts`) as `npm start` does; resolves once
 * `listeners` servers log that they listen (so LOG_LEVEL must include info).
 */
export async function startServer(
  env: Record<string, string>,
  { entry = 'src/main.ts', listeners = 1 } = {},
): Promise<Server> {
  const child = spawn(process.execPath, [...START_FLAGS, entry], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const logs: Record<string, unknown>[] = [];
  const base = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      const listening = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(entry.msg));
      if (listening && (listeners -= 1) === 0) resolve(listening[1]!);
    });
    exited.then(([code]) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
    setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not listening after 20 s: ${stderr}`));
    }, 20_000).unref();
  });
  return { child, base, logs, stderr: () => stderr, exited };
}

/** Resolves with the exit, or with 'still running' after `ms`. */
export function exitWithin(
  server: Server,
  ms: number,
): Promise<[number | null, NodeJS.Signals | null] | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    server.exited.finally(() => clearTimeout(timer)),
    new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms))),
  ]);
}

export const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * `clients` loops, each sending `request(signal)` one after another until `stop()`; records every
 * status (or the error's name: TimeoutError after 20 s) and the slowest answer.
 */
export function load(request: (signal: AbortSignal) => Promise<Response>, clients = 4) {
  let running = true;
  const statuses: Record<string, number> = {};
  let slowestMs = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await request(AbortSignal.timeout(20_000));
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      } catch (error) {
        const name = (error as Error).name;
        statuses[name] = (statuses[name] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 20));
      }
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
  });
  return {
    statuses,
    get slowestMs() {
      return slowestMs;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
