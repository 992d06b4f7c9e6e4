// The engine fuzzer's language: what a generated sequence may do to a real pool, as plain data
// (so a failing sequence prints as JSON and fast-check can shrink it), and the arbitraries that
// generate it.
import fc from 'fast-check';
import type { PoolOptions } from 'smartasync';
import type { DeathKind, PoisonKind } from '../fixtures/fuzz-target.ts';

/** Ends a call early: `afterMs` after it was made (an abort at -1 is a signal aborted before the call). */
export interface Cancel {
  readonly how: 'abort' | 'timeout';
  readonly afterMs: number;
}

export type FnName = 'short0' | 'short1' | 'long0' | 'long1' | 'waits0' | 'varies' | `fresh${0 | 1 | 2 | 3 | 4 | 5}`;

export type Command =
  /** One call of a plain function, running `ms`. */
  | { readonly op: 'call'; readonly fn: FnName; readonly ms: number; readonly cancel?: Cancel }
  /** One call of a method on a pinned instance. */
  | { readonly op: 'pinned'; readonly ledger: number; readonly ms: number; readonly cancel?: Cancel }
  /** A call that throws or returns a value that cannot cross as it is. */
  | { readonly op: 'poison'; readonly kind: PoisonKind }
  /** A call that ends its worker. */
  | { readonly op: 'die'; readonly how: DeathKind }
  /** A generator, read in full, broken off at `breakAt`, or read slowly. */
  | {
      readonly op: 'stream';
      readonly n: number;
      readonly ms: number;
      readonly failAt: number;
      readonly badAt: number;
      readonly read: 'full' | 'break' | 'slow';
      readonly breakAt: number;
      readonly cancel?: Cancel;
    }
  /** `callers` closed-loop callers of a short function, for `ms`, in the background. */
  | { readonly op: 'flood'; readonly callers: number; readonly ms: number }
  | { readonly op: 'wait'; readonly ms: number }
  | { readonly op: 'warm' };

/** A generated run: the pool's options, then the commands in order. */
export interface Scenario {
  readonly pool: PoolOptions;
  readonly commands: readonly Command[];
}

const cancel: fc.Arbitrary<Cancel | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.record({ how: fc.constant('abort' as const), afterMs: fc.integer({ min: -1, max: 40 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ how: fc.constant('timeout' as const), afterMs: fc.integer({ min: 1, max: 40 }) }),
  },
);

const fnCall = fc.oneof(
  { weight: 6, arbitrary: fc.record({ fn: fc.constantFrom<FnName>('short0', 'short1'), ms: fc.constant(0) }) },
  {
    weight: 3,
    arbitrary: fc.record({ fn: fc.constantFrom<FnName>('long0', 'long1'), ms: fc.integer({ min: 5, max: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ fn: fc.constant<FnName>('waits0'), ms: fc.integer({ min: 5, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ fn: fc.constant<FnName>('varies'), ms: fc.constantFrom(0, 0, 30, 50) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      fn: fc.constantFrom<FnName>('fresh0', 'fresh1', 'fresh2', 'fresh3', 'fresh4', 'fresh5'),
      ms: fc.integer({ min: 10, max: 25 }),
    }),
  },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({ op: fc.constant('call' as const), call: fnCall, cancel })
      .map(({ call, ...c }) => ({ ...c, ...call })),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('pinned' as const),
      ledger: fc.integer({ min: 0, max: 1 }),
      ms: fc.constantFrom(0, 0, 1, 15),
      cancel,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('poison' as const),
      kind: fc.constantFrom<PoisonKind>(
        'getter',
        'name',
        'proxy-date',
        'proxy-error',
        'function',
        'undefined',
        'symbol',
        'revoked-proxy',
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('die' as const), how: fc.constantFrom<DeathKind>('exit', 'throw-later') }),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        op: fc.constant('stream' as const),
        // Many quick items, or a few slow ones (150 ms of synchronous work each).
        size: fc.oneof(
          fc.record({ n: fc.integer({ min: 0, max: 400 }), ms: fc.constantFrom(0, 0, 0, 5) }),
          fc.record({ n: fc.integer({ min: 0, max: 6 }), ms: fc.constant(150) }),
        ),
        failAt: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 300 })),
        badAt: fc.oneof(fc.constant(-1), fc.constant(-1), fc.integer({ min: 0, max: 300 })),
        read: fc.constantFrom('full' as const, 'break' as const, 'slow' as const),
        breakAt: fc.integer({ min: 0, max: 20 }),
        cancel,
      })
      .map(({ size, ...stream }) => ({ ...stream, ...size })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('flood' as const),
      callers: fc.integer({ min: 20, max: 80 }),
      ms: fc.integer({ min: 300, max: 1500 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'warm' as const }) },
);

const pool: fc.Arbitrary<PoolOptions> = fc.record({
  size: fc.integer({ min: 1, max: 3 }),
  concurrencyPerWorker: fc.constantFrom(1, 4, 32),
  maxQueue: fc.constantFrom(10_000, 10_000, 40),
  headOfLine: fc.oneof(
    fc.constant(true),
    fc.constant(false),
    fc.record({ longCallMs: fc.constantFrom(1, 2, 4), holdMs: fc.constantFrom(100, 1000) }),
  ),
});

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  pool,
  commands: fc.array(command, { minLength: 1, maxLength: 30 }),
});
