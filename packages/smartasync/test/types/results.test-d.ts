// A function's result type is kept as written: `any` stays `any` (it used to become an
// AsyncGenerator), `unknown` stays `unknown`. Checked by `npm run typecheck`.
import { expectTypeOf } from 'expect-type';
import { smartasync } from 'smartasync';

// JSON.parse returns any: the wrapped function's result is a value like the original's.
const parse = smartasync((text: string) => JSON.parse(text));
expectTypeOf(parse('{}')).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
expectTypeOf(parse('{}')).not.toExtend<AsyncGenerator<unknown, unknown, undefined>>();
expectTypeOf(parse.sync('{}')).toBeAny();
expectTypeOf(parse.json('{}')).toEqualTypeOf<Promise<string>>();
export async function port(): Promise<number> {
  return (await parse('{"port":8080}')).port; // any, as JSON.parse's own result
}
expectTypeOf(smartasync(JSON.parse)('{}')).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any

const passThrough = smartasync((value: unknown): unknown => value);
expectTypeOf(passThrough(1)).toEqualTypeOf<Promise<unknown>>();
expectTypeOf(passThrough.sync(1)).toBeUnknown();

// An async body returning any: still a promise of any, and .sync() gives any.
const load = smartasync(async (text: string) => JSON.parse(text));
expectTypeOf(load('{}')).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
expectTypeOf(load.sync('{}')).toBeAny();

// A generator of any streams any items.
const lines = smartasync(function* lines(text: string) {
  for (const line of text.split('\n')) yield JSON.parse(line);
});
expectTypeOf(lines('')).toEqualTypeOf<AsyncGenerator<any, void, undefined>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
expectTypeOf(lines.sync('')).toEqualTypeOf<Generator<any, void, undefined>>(); // eslint-disable-line @typescript-eslint/no-explicit-any

// Methods too.
class Config {
  read(text: string) {
    return JSON.parse(text);
  }
}
const config = new (smartasync(Config))();
expectTypeOf(config.read('{}')).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
expectTypeOf(config.read.sync('{}')).toBeAny();
