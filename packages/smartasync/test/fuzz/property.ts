// The fuzzer as a fast-check property: a generated scenario, played on a real pool, breaks no
// invariant. A failure reports its seed, the shrunk scenario and every violation.
import fc from 'fast-check';
import { scenario, type Scenario } from './commands.ts';
import { play } from './run.ts';
import { violations } from './invariants.ts';

/** Longer than any scenario's own deadlines add up to (two of 30 s, one of 5 s, its commands). */
const SCENARIO_MS = 120_000;

export interface FuzzOptions {
  readonly seed: number;
  /** With `seed`, replays the one scenario a failure reported (its `path`) and its shrinking. */
  readonly path?: string;
  readonly runs: number;
  /** Stop generating (and shrinking) after this many ms. */
  readonly timeLimitMs: number;
  /** Called after each scenario played, with its violations. */
  readonly onPlayed?: (s: Scenario, found: string[]) => void;
}

/** Plays scenarios until `runs` or the time limit; throws with the shrunk counterexample on a violation. */
export async function fuzz(options: FuzzOptions): Promise<number> {
  let played = 0;
  // fast-check passes a run whose time limit ends while it shrinks a counterexample: the
  // first violation found is kept here, and fails the run whatever fast-check says.
  let first: { scenario: Scenario; found: string[] } | undefined;
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      // Every step of a scenario has its own deadline; one that still hangs is a finding too.
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the scenario did not finish within ${SCENARIO_MS / 1000} s`)),
          SCENARIO_MS,
        );
      });
      const found = violations(await Promise.race([play(s), hung]).finally(() => clearTimeout(timer)));
      played++;
      options.onPlayed?.(s, found);
      if (found.length > 0) first ??= { scenario: s, found };
      if (found.length > 0) throw new Error(`${found.length} violation(s):\n  ${found.slice(0, 20).join('\n  ')}`);
    }),
    {
      seed: options.seed,
      path: options.path,
      numRuns: options.runs,
      interruptAfterTimeLimit: options.timeLimitMs,
      markInterruptAsFailure: false,
      endOnFailure: false,
    },
  );
  if (first) {
    throw new Error(
      `seed ${options.seed}: ${first.found.length} violation(s), found before the time limit cut the shrinking short:\n  ` +
        `${first.found.slice(0, 20).join('\n  ')}\nscenario: ${JSON.stringify(first.scenario)}`,
    );
  }
  return played;
}
