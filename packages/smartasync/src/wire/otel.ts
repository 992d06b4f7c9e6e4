/**
 * `@opentelemetry/api` where the application has it (an optional peer: looked for once per
 * thread; where it is not installed, nothing else happens), and the span context that crosses
 * with a call (see engine/trace.ts for the caller's side).
 */
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import { OWN_FILE } from '../registry/call-site.ts';

let api: typeof OtelApi | null | undefined;

/** `@opentelemetry/api` as the application has it, or null where it is not installed. */
export function otel(): typeof OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(OWN_FILE ?? `${process.cwd()}/`)('@opentelemetry/api') as typeof OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/** A span context as it crosses: trace id, span id, trace flags. */
export type TraceCarrier = readonly [string, string, number];

/** On a worker: runs `body` as a child of the caller's span, where OpenTelemetry is here too. */
export function withinCallerSpan<T>(carrier: TraceCarrier, body: () => T): T {
  const o = otel();
  if (!o) return body();
  const [traceId, spanId, traceFlags] = carrier;
  const context = o.trace.setSpanContext(o.ROOT_CONTEXT, { traceId, spanId, traceFlags, isRemote: true });
  return o.context.with(context, body);
}
