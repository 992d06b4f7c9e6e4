// OpenTelemetry, switched on by the standard environment: `node --import ./src/tracing.ts` (as
// `npm start` runs the server) loads it first in the process and, since smartasync's workers
// start with the process's own Node options, in every worker too. With OTEL_TRACES_EXPORTER
// unset or `none` it loads nothing. Otherwise the SDK (@opentelemetry/sdk-node) reads the rest
// of the OTEL_* variables (exporter endpoint and protocol, service name, sampler, batching):
// in the main thread it also traces HTTP (each request a server span, named after its route by
// the app); in each worker, it exports the spans the data layer opens there. smartasync links
// the two: each offloaded call is a span, child of the request's, and the worker's spans are its
// children, in the same trace (README: Tracing).
import { isMainThread } from 'node:worker_threads';
import { tracesWanted } from './telemetry-env.ts';

if (tracesWanted()) {
  // Traces only: the app's metrics are on /metrics (Prometheus) and its logs are JSON lines on
  // stdout. Left to itself, the SDK would also export both to an OTLP collector by default (and,
  // with none there, retry until its timeout before the process could exit).
  process.env.OTEL_METRICS_EXPORTER ||= 'none';
  process.env.OTEL_LOGS_EXPORTER ||= 'none';
  const [{ NodeSDK }, { HttpInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
  ]);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME || 'users-api',
    instrumentations: isMainThread ? [new HttpInstrumentation()] : [],
  });
  sdk.start();
  // Spans still batched when the process ends go out before it does.
  process.once('beforeExit', () => void sdk.shutdown());
}
