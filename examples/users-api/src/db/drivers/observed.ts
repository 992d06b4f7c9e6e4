// A driver that reports what it does: a span per statement and per transaction where tracing is
// on (the OTEL_* environment, ../../tracing.ts), and, given log options, a warning per slow
// statement and a line per transaction rolled back. Wrapped around a connection by the data
// layer; with neither, the connection is used as it is and nothing is added per statement.
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { tracesWanted } from '../../telemetry-env.ts';
import { DomainError } from '../errors.ts';
import { dataLogger, type DataLogOptions } from '../log.ts';
import type { Driver, Param, Row } from './driver.ts';

export function observed(driver: Driver, log?: DataLogOptions): Driver {
  const tracer = tracesWanted() ? trace.getTracer('users-api') : undefined;
  if (!tracer && !log) return driver;
  const logger = log && dataLogger(log.level);
  const slowQueryMs = log?.slowQueryMs ?? Infinity;
  const system = driver.dialect === 'postgres' ? 'postgresql' : 'sqlite';
  const traced = <T>(name: string, attributes: Record<string, string>, run: () => T): T => {
    if (!tracer) return run();
    return tracer.startActiveSpan(name, { attributes: { 'db.system.name': system, ...attributes } }, (span: Span) => {
      try {
        return run();
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  };
  const timed = (sql: string, params: readonly Param[]): Row[] => {
    if (!logger) return driver.all(sql, params);
    const started = performance.now();
    const rows = driver.all(sql, params);
    const ms = performance.now() - started;
    if (ms >= slowQueryMs) logger.warn({ sql, params, ms: Math.round(ms * 1000) / 1000 }, 'slow query');
    return rows;
  };
  return {
    ...driver,
    all(sql: string, params: readonly Param[] = []): Row[] {
      if (!tracer) return timed(sql, params);
      const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
      return traced(operation, { 'db.operation.name': operation, 'db.query.text': sql }, () => timed(sql, params));
    },
    transaction<T>(fn: () => T): T {
      return traced('transaction', {}, () => {
        try {
          return driver.transaction(fn);
        } catch (error) {
          // A refusal (insufficient funds, say) is the app working: its reason, not a stack.
          if (error instanceof DomainError) {
            logger?.info({ code: error.code, reason: error.message }, 'transaction rolled back');
          } else logger?.warn({ err: error }, 'transaction rolled back');
          throw error;
        }
      });
    },
  };
}
