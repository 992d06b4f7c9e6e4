/**
 * OpenTelemetry, where the application has it: each offloaded call made inside a trace is a span
 * (`smartasync <function>`), child of the caller's active span, and its span context crosses
 * with the call so that spans opened on the worker (by the user's code, or an instrumented
 * driver) are its children, in the same trace. `@opentelemetry/api` is an optional peer: it is
 * looked for once per thread, and where it is not installed nothing else happens.
 */
import { otel, type TraceCarrier } from '../wire/otel.ts';

/** The span of one offloaded call. */
export interface CallSpan {
  /** Its context, for the worker. */
  readonly carrier: TraceCarrier;
  /** Ends it with what happened. */
  end(ok: boolean, outcome: unknown, figures: { worker?: string; waitMs?: number; runMs?: number }): void;
}

/** A span for a call of `name` made now, if the caller is inside a trace. */
export function startCallSpan(name: string): CallSpan | undefined {
  const o = otel();
  if (!o) return undefined;
  const parent = o.context.active();
  if (!o.trace.getSpan(parent)?.spanContext().traceId) return undefined;
  const span = o.trace
    .getTracer('smartasync')
    .startSpan(
      `smartasync ${name}`,
      { kind: o.SpanKind.INTERNAL, attributes: { 'smartasync.function': name } },
      parent,
    );
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    carrier: [traceId, spanId, traceFlags],
    end(ok, outcome, { worker, waitMs, runMs }) {
      if (worker) span.setAttribute('smartasync.worker', worker);
      if (waitMs !== undefined) span.setAttribute('smartasync.wait_ms', waitMs);
      if (runMs !== undefined) span.setAttribute('smartasync.run_ms', runMs);
      span.setAttribute('smartasync.outcome', ok ? 'ok' : errorName(outcome));
      if (!ok) {
        span.setStatus({
          code: o.SpanStatusCode.ERROR,
          message: String((outcome as Error | null)?.message ?? outcome),
        });
        if (outcome instanceof Error) span.recordException(outcome);
      }
      span.end();
    },
  };
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
