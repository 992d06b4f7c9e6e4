// The fuzzer as a fast-check property: a generated scenario, played on a real pool, breaks no
// invariant. A failure reports its seed, the shrunk scenario and every violation.
import fc from 'fast-check';
import { scenario, type Scenario } from './commands.ts';
import { play } from './run.ts';
import { violations } from './invariants.ts';

export interface FuzzOptions {
  readonly seed: number;
  readonly runs: number;
  /** Stop generating (and shrinking) after this many ms. */
  readonly timeLimitMs: number;
  /** Called after each scenario played, with its violations. */
  readonly onPlayed?: (s: Scenario, found: string[]) => void;
}

/** Plays scenarios until `runs` or the time limit; throws with the shrunk counterexample on a violation. */
export async function fuzz(options: FuzzOptions): Promise<number> {
  let played = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const found = violations(await play(s));
      played++;
      options.onPlayed?.(s, found);
      if (found.length > 0) throw new Error(`${found.length} violation(s):\n  ${found.slice(0, 20).join('\n  ')}`);
    }),
    {
      seed: options.seed,
      numRuns: options.runs,
      interruptAfterTimeLimit: options.timeLimitMs,
      markInterruptAsFailure: false,
      endOnFailure: false,
    },
  );
  return played;
}
