// Whether the standard OTEL_* environment asks for traces: shared by the preload that starts the
// SDK (./tracing.ts) and the data layer, which opens its spans only then.

/**
 * True when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`, `zipkin`, a list of them)
 * and OTEL_SDK_DISABLED is not `true`. Unset (the default) or `none`: no tracing, nothing loaded.
 */
export function tracesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return exporters.length > 0 && !exporters.every((name) => name === 'none');
}
