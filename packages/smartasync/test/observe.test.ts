// Context, traces and metrics across the thread boundary (issue 17, items 2-4): OpenTelemetry
// spans parent-linked from the caller's span to the call to the worker's own spans;
// node:diagnostics_channel events for calls and workers; per-function histograms in stats().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configure, getPool, type CallContext } from 'smartasync';
import { burn, query, queryLater, quick, quit, refuse } from './fixtures/observed.ts';

const spansFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-otel-')), 'spans');
process.env.SMARTASYNC_TEST_SPANS = spansFile;
configure({
  size: 2,
  // The app's tracing set-up, loaded in the workers too, as an app does with --import.
  execArgv: ['--import', path.join(import.meta.dirname, 'fixtures', 'otel-worker.ts')],
});
after(() => getPool().close());

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const workerSpans = () =>
  fs.existsSync(spansFile)
    ? fs
        .readFileSync(spansFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { name: string; traceId: string; spanId: string; parent?: string })
    : [];

test('one request, one trace: the caller’s span, the call’s span, and the span opened on the worker', async () => {
  const tracer = trace.getTracer('test');
  await tracer.startActiveSpan('GET /users/:id', async (http) => {
    assert.equal(await query('SELECT 1'), 8);
    assert.equal(await queryLater.sync('SELECT 2'), 8, 'a .sync() call on the bridge is traced too');
    http.end();
  });
  const main = exporter.getFinishedSpans();
  const httpSpan = main.find((s) => s.name === 'GET /users/:id')!;
  const callSpan = main.find((s) => s.name === 'smartasync query()')!;
  const bridgeSpan = main.find((s) => s.name === 'smartasync queryLater()')!;
  assert.ok(callSpan && bridgeSpan, main.map((s) => s.name).join(', '));
  const traceId = httpSpan.spanContext().traceId;
  assert.equal(callSpan.spanContext().traceId, traceId);
  assert.equal(callSpan.parentSpanContext?.spanId, httpSpan.spanContext().spanId);
  assert.equal(callSpan.attributes['smartasync.outcome'], 'ok');
  assert.match(String(callSpan.attributes['smartasync.worker']), /^smartasync-/);
  assert.ok(Number(callSpan.attributes['smartasync.run_ms']) >= 0);
  const onWorker = workerSpans();
  const db = onWorker.find((s) => s.name === 'db query')!;
  const dbAsync = onWorker.find((s) => s.name === 'db query (async)')!;
  assert.ok(db && dbAsync, JSON.stringify(onWorker));
  assert.equal(db.traceId, traceId);
  assert.equal(db.parent, callSpan.spanContext().spanId, 'the worker’s span is a child of the call’s');
  assert.equal(dbAsync.parent, bridgeSpan.spanContext().spanId);
});

test('a call made outside a trace makes no span', async () => {
  exporter.reset();
  await quick(1);
  assert.deepEqual(
    exporter.getFinishedSpans().map((s) => s.name),
    [],
  );
});

test('smartasync:call: start and asyncEnd for each call, with its name, worker and times; error with the thrown value', async () => {
  const events: [string, CallContext][] = [];
  const on = (event: string) => (ctx: unknown) => void events.push([event, { ...(ctx as CallContext) }]);
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  const channel = dc.tracingChannel('smartasync:call');
  channel.subscribe(handlers);
  try {
    assert.equal(await quick(41), 42);
    await assert.rejects(refuse('no'), RangeError);
  } finally {
    channel.unsubscribe(handlers);
  }
  const of = (name: string) => events.filter(([, ctx]) => ctx.name === name).map(([e]) => e);
  assert.deepEqual(of('quick()'), ['start', 'end', 'asyncStart', 'asyncEnd']);
  assert.deepEqual(of('refuse()'), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  const done = events.find(([e, ctx]) => e === 'asyncEnd' && ctx.name === 'quick()')![1];
  assert.equal(done.result, 42);
  assert.match(String(done.worker), /^smartasync-/);
  assert.ok(done.waitMs! >= 0 && done.runMs! >= 0);
  const failed = events.find(([e, ctx]) => e === 'error' && ctx.name === 'refuse()')![1];
  assert.ok(failed.error instanceof RangeError);
});

test('worker lifecycle channels: a start, and an exit that says it crashed', async () => {
  const seen: [string, Record<string, unknown>][] = [];
  const onStart = (m: unknown) => seen.push(['start', m as Record<string, unknown>]);
  const onExit = (m: unknown) => seen.push(['exit', m as Record<string, unknown>]);
  dc.subscribe('smartasync:worker:start', onStart);
  dc.subscribe('smartasync:worker:exit', onExit);
  try {
    await quit().catch(() => {});
    await quick(1); // a new worker takes the next calls
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    dc.unsubscribe('smartasync:worker:start', onStart);
    dc.unsubscribe('smartasync:worker:exit', onExit);
  }
  const exit = seen.find(([k]) => k === 'exit')?.[1];
  assert.equal(exit?.reason, 'crashed');
  assert.equal(exit?.code, 9);
  assert.ok(
    seen.some(([k]) => k === 'start'),
    'its replacement started',
  );
});

test('stats().functions: per-function counts and wait and run time histograms', async () => {
  await Promise.all(Array.from({ length: 30 }, (_, i) => quick(i)));
  await Promise.all([burn(20), burn(20)]);
  await refuse('x').catch(() => {});
  const fns = new Map(
    getPool()
      .stats()
      .functions.map((f) => [f.name, f]),
  );
  const q = fns.get('quick()')!;
  assert.ok(q.completed >= 30);
  assert.equal(q.runTime.count, q.completed);
  const last = q.runTime.buckets.at(-1)!;
  assert.equal(last.le, Infinity);
  assert.equal(last.count, q.runTime.count, 'buckets are cumulative');
  const b = fns.get('burn()')!;
  assert.equal(b.runTime.buckets.find((x) => x.le === 10)!.count, 0, 'no 20 ms call under 10 ms');
  assert.ok(b.runTime.sumMs >= 40);
  assert.ok(fns.get('refuse()')!.failed >= 1);
});
