import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FunctionStats, Histogram as DurationHistogram, PoolStats } from 'smartasync';

/**
 * Prometheus metrics on a registry of the app's own (so several apps in one process, as in
 * the tests, do not collide): process defaults, HTTP requests, and the worker pool.
 */
export function registerMetrics(app: FastifyInstance, poolStats?: () => PoolStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded.
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: reply.statusCode,
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  if (poolStats) {
    const gauge = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(poolStats()));
        },
      });
    // Totals the pool keeps itself: re-exposed as counters set to the pool's value.
    const total = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read(poolStats()));
        },
      });
    gauge('smartasync_pool_workers', 'Live worker threads', (s) => s.workers);
    gauge('smartasync_pool_idle_workers', 'Worker threads holding no call', (s) => s.idleWorkers);
    gauge('smartasync_pool_queued_calls', 'Calls waiting for a worker', (s) => s.queued);
    gauge(
      'smartasync_pool_held_back_calls',
      'Long calls waiting while short calls have the free capacity',
      (s) => s.heldBack,
    );
    total(
      'smartasync_pool_express_calls_total',
      'Short calls run on the express worker (every other worker held a long call)',
      (s) => s.expressCalls,
    );
    gauge('smartasync_pool_running_calls', 'Calls sent to a worker and not yet settled', (s) => s.running);
    total('smartasync_pool_completed_calls_total', 'Calls that settled with a value', (s) => s.completed);
    total('smartasync_pool_failed_calls_total', 'Calls that settled with an error', (s) => s.failed);
    total('smartasync_pool_crashed_workers_total', 'Workers that died and were replaced', (s) => s.crashedWorkers);
    total(
      'smartasync_pool_wait_seconds_total',
      'Time calls spent waiting for a worker',
      (s) => s.waitTime.totalMs / 1000,
    );
    total('smartasync_pool_run_seconds_total', 'Time calls spent running on workers', (s) => s.runTime.totalMs / 1000);
    gauge('smartasync_pool_wait_seconds_max', 'Longest wait for a worker so far', (s) => s.waitTime.maxMs / 1000);
    gauge('smartasync_pool_run_seconds_max', 'Longest call on a worker so far', (s) => s.runTime.maxMs / 1000);
    registry.registerMetric(
      perFunction(
        'smartasync_function_wait_seconds',
        'Time calls waited for a worker, by wrapped function or method',
        poolStats,
        (f) => f.waitTime,
      ),
    );
    registry.registerMetric(
      perFunction(
        'smartasync_function_run_seconds',
        'Time calls ran on a worker, by wrapped function or method',
        poolStats,
        (f) => f.runTime,
      ),
    );
  }
  return registry;
}

/**
 * A Prometheus histogram labelled by `function`, read from the pool's own per-function
 * histograms when scraped (prom-client's Histogram can only observe values one by one; the pool
 * has already counted them, in the same cumulative shape).
 */
function perFunction(
  name: string,
  help: string,
  poolStats: () => PoolStats,
  read: (f: FunctionStats) => DurationHistogram,
): Parameters<Registry['registerMetric']>[0] {
  const get = async () => ({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    values: [...byName(poolStats().functions, read)].flatMap(([fn, h]) => {
      const labels = { function: fn };
      return [
        ...h.buckets.map((b) => ({
          metricName: `${name}_bucket`,
          labels: { ...labels, le: b.le === Infinity ? '+Inf' : String(b.le / 1000) },
          value: b.count,
        })),
        { metricName: `${name}_sum`, labels, value: h.sumMs / 1000 },
        { metricName: `${name}_count`, labels, value: h.count },
      ];
    }),
  });
  // The shape Registry reads (name, help, type, get); nothing to reset: the pool keeps the counts.
  return { name, help, type: 'histogram', aggregator: 'sum', get, reset() {} } as unknown as Parameters<
    Registry['registerMetric']
  >[0];
}

/**
 * The histograms of functions of the same name added up: a class wrapped twice (the app's
 * DatabaseManager, src/db/async.ts) has two entries per method, and a series may appear once.
 */
function byName(functions: readonly FunctionStats[], read: (f: FunctionStats) => DurationHistogram) {
  const merged = new Map<string, DurationHistogram>();
  for (const f of functions) {
    const h = read(f);
    const seen = merged.get(f.name);
    merged.set(
      f.name,
      seen
        ? {
            count: seen.count + h.count,
            sumMs: seen.sumMs + h.sumMs,
            buckets: seen.buckets.map((b, i) => ({ le: b.le, count: b.count + (h.buckets[i]?.count ?? 0) })),
          }
        : h,
    );
  }
  return merged;
}
