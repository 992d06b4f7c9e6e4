// The options of the bench's stand-alone scripts (soak.ts, export.ts): `--name=value` flags,
// `--help`, and a usage text on any mistake (exit 2).

export interface ScriptOptions {
  has(name: string): boolean;
  get(name: string): string | undefined;
  /** A positive number, `fallback` when the flag is absent. */
  number(name: string, fallback: number): number;
  /** `--only=a,b` among `all` (every one when absent). */
  only<T extends string>(all: readonly T[]): T[];
}

/** Reads `argv` (flags after the script), exiting with the usage on `--help` or an unknown flag. */
export function scriptOptions(argv: readonly string[], known: readonly string[], usage: string): ScriptOptions {
  const args = new Map(
    argv.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k!, v ?? 'true'] as const;
    }),
  );
  const unknown = [...args.keys()].filter((k) => k !== 'help' && !known.includes(k));
  if (args.has('help') || unknown.length) {
    process.stderr.write((unknown.length ? `unknown option(s): ${unknown.join(', ')}\n` : '') + usage);
    process.exit(unknown.length ? 2 : 0);
  }
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n${usage}`);
    process.exit(2);
  };
  return {
    has: (name) => args.has(name),
    get: (name) => args.get(name),
    number(name, fallback) {
      const v = Number(args.get(name) ?? fallback);
      return v > 0 && Number.isFinite(v) ? v : fail(`--${name} must be a positive number`);
    },
    only(all) {
      const chosen = (args.get('only')?.split(',') ?? [...all]) as (typeof all)[number][];
      const bad = chosen.filter((c) => !all.includes(c));
      return bad.length ? fail(`unknown candidate(s): ${bad.join(', ')}; choose among ${all.join(', ')}`) : chosen;
    },
  };
}
