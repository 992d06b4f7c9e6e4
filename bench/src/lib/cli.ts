// The options of the stand-alone scripts (soak.ts, export.ts, compare.ts): `--name=value`, boolean
// `flags`, positionals where allowed, `--help`, and the usage text on any mistake (exit 2).
import { parseArgs } from 'node:util';

export function scriptOptions(names: string[], usage: string, o: { flags?: string[]; positionals?: boolean } = {}) {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n${usage}`);
    process.exit(2);
  };
  const options = Object.fromEntries([
    ...names.map((n) => [n, { type: 'string' as const }]),
    ...[...(o.flags ?? []), 'help'].map((n) => [n, { type: 'boolean' as const }]),
  ]);
  type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };
  const parse = (): Parsed => {
    try {
      return parseArgs({ args: process.argv.slice(2), options, allowPositionals: o.positionals }) as Parsed;
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
  };
  const { values, positionals } = parse();
  if (values.help) {
    process.stderr.write(usage);
    process.exit(0);
  }
  return {
    fail,
    positionals,
    get: (name: string) => values[name] as string | undefined,
    flag: (name: string) => values[name] === true,
    /** A positive number, `fallback` when the flag is absent. */
    number(name: string, fallback: number): number {
      const v = Number(values[name] ?? fallback);
      return v > 0 && Number.isFinite(v) ? v : fail(`--${name} must be a positive number`);
    },
    /** `--only=a,b` among `all` (every one when absent). */
    only<T extends string>(all: readonly T[]): T[] {
      const chosen = ((values.only as string | undefined)?.split(',') ?? [...all]) as T[];
      const bad = chosen.filter((c) => !all.includes(c));
      return bad.length ? fail(`unknown candidate(s): ${bad.join(', ')}; choose among ${all.join(', ')}`) : chosen;
    },
  };
}
