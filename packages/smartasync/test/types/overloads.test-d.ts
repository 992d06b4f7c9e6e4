// Overloaded functions keep every overload, in order, in each call form, up to 16 (the most
// the types spell out); a 17th drops the first. Checked by `npm run typecheck`.
import { readFileSync } from 'node:fs';
import { expectTypeOf } from 'expect-type';
import { smartasync } from 'smartasync';

// ---- declared overloads ----
function format(value: number): string;
function format(value: string, width: number): string[];
function format(value: Date, options: { iso: true }): `${number}-${number}`;
function format(value: number | string | Date, extra?: number | { iso: true }): unknown {
  return [value, extra];
}
const smartFormat = smartasync(format);
expectTypeOf(smartFormat(1)).toEqualTypeOf<Promise<string>>();
expectTypeOf(smartFormat('a', 3)).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(smartFormat(new Date(), { iso: true })).toEqualTypeOf<Promise<`${number}-${number}`>>();
expectTypeOf(smartFormat.sync(1)).toEqualTypeOf<string>();
expectTypeOf(smartFormat.sync('a', 3)).toEqualTypeOf<string[]>();
expectTypeOf(smartFormat.sync(new Date(), { iso: true })).toEqualTypeOf<`${number}-${number}`>();
expectTypeOf(smartFormat.json('a', 3)).toEqualTypeOf<Promise<string>>();
expectTypeOf(smartFormat.with({ timeout: 100 })(1)).toEqualTypeOf<Promise<string>>();
// @ts-expect-error no overload takes a string alone
void smartFormat('a');
// @ts-expect-error nor in the sync form
smartFormat.sync(new Date());
// @ts-expect-error the implementation signature is not one of them
void smartFormat(1 as number | string);

// ---- order is kept: the first matching overload wins, as for the function itself ----
function narrow(value: string): 'string';
function narrow(value: unknown): 'other';
function narrow(value: unknown): string {
  return typeof value === 'string' ? 'string' : 'other';
}
expectTypeOf(smartasync(narrow)('x')).toEqualTypeOf<Promise<'string'>>();
expectTypeOf(smartasync(narrow)(1)).toEqualTypeOf<Promise<'other'>>();
expectTypeOf(smartasync(narrow).sync('x')).toEqualTypeOf<'string'>();

// ---- a library's overloads: fs.readFileSync gives a Buffer without an encoding, a string with one ----
const readFile = smartasync(readFileSync);
expectTypeOf(readFile('a.txt')).resolves.toExtend<Buffer>();
expectTypeOf(readFile('a.txt')).resolves.not.toBeString();
expectTypeOf(readFile('a.txt', 'utf8')).toEqualTypeOf<Promise<string>>();
expectTypeOf(readFile.sync('a.txt', { encoding: 'utf8' })).toEqualTypeOf<string>();
expectTypeOf(readFile.sync('a.txt')).toExtend<Buffer>();

// ---- every arity from 1 to 16 ----
// Overloaded<K>: a function with K overloads, (x: 0) => 'r0' ... (x: K-1) => `r${K-1}`. An
// intersection of function types is an overloaded function type, as a declaration makes.
type Overloaded<K extends number, Done extends unknown[] = []> = Done['length'] extends K
  ? unknown
  : ((x: Done['length']) => `r${Done['length']}`) & Overloaded<K, [...Done, 0]>;
type AwaitedOverloads<K extends number, Done extends unknown[] = []> = Done['length'] extends K
  ? unknown
  : ((x: Done['length']) => Promise<`r${Done['length']}`>) & AwaitedOverloads<K, [...Done, 0]>;
type SyncOverloads<K extends number> = Overloaded<K>;
type JsonOverloads<K extends number, Done extends unknown[] = []> = Done['length'] extends K
  ? unknown
  : ((x: Done['length']) => Promise<string>) & JsonOverloads<K, [...Done, 0]>;

declare const o1: Overloaded<1>;
declare const o2: Overloaded<2>;
declare const o3: Overloaded<3>;
declare const o4: Overloaded<4>;
declare const o5: Overloaded<5>;
declare const o6: Overloaded<6>;
declare const o7: Overloaded<7>;
declare const o8: Overloaded<8>;
declare const o9: Overloaded<9>;
declare const o10: Overloaded<10>;
declare const o11: Overloaded<11>;
declare const o12: Overloaded<12>;
declare const o13: Overloaded<13>;
declare const o14: Overloaded<14>;
declare const o15: Overloaded<15>;
declare const o16: Overloaded<16>;
declare const o17: Overloaded<17>;
expectTypeOf(smartasync(o1)).toExtend<AwaitedOverloads<1>>();
expectTypeOf(smartasync(o2)).toExtend<AwaitedOverloads<2>>();
expectTypeOf(smartasync(o3)).toExtend<AwaitedOverloads<3>>();
expectTypeOf(smartasync(o4)).toExtend<AwaitedOverloads<4>>();
expectTypeOf(smartasync(o5)).toExtend<AwaitedOverloads<5>>();
expectTypeOf(smartasync(o6)).toExtend<AwaitedOverloads<6>>();
expectTypeOf(smartasync(o7)).toExtend<AwaitedOverloads<7>>();
expectTypeOf(smartasync(o8)).toExtend<AwaitedOverloads<8>>();
expectTypeOf(smartasync(o9)).toExtend<AwaitedOverloads<9>>();
expectTypeOf(smartasync(o10)).toExtend<AwaitedOverloads<10>>();
expectTypeOf(smartasync(o11)).toExtend<AwaitedOverloads<11>>();
expectTypeOf(smartasync(o12)).toExtend<AwaitedOverloads<12>>();
expectTypeOf(smartasync(o13)).toExtend<AwaitedOverloads<13>>();
expectTypeOf(smartasync(o14)).toExtend<AwaitedOverloads<14>>();
expectTypeOf(smartasync(o15)).toExtend<AwaitedOverloads<15>>();
expectTypeOf(smartasync(o16)).toExtend<AwaitedOverloads<16>>();
expectTypeOf(smartasync(o16).sync).toExtend<SyncOverloads<16>>();
expectTypeOf(smartasync(o16).json).toExtend<JsonOverloads<16>>();
// Past 16, the last 16 are kept: the first overload of 17 is gone.
expectTypeOf(smartasync(o17)).not.toExtend<AwaitedOverloads<17>>();
expectTypeOf(smartasync(o17)(16)).toEqualTypeOf<Promise<'r16'>>();
// @ts-expect-error (x: 0) was the 17th from the end
void smartasync(o17)(0);

// ---- none too many: a function keeps exactly its own signatures ----
expectTypeOf(smartasync(o1)(0)).toEqualTypeOf<Promise<'r0'>>();
// @ts-expect-error o1 has one overload, for 0
void smartasync(o1)(1);
// @ts-expect-error o3 has none for 3
void smartasync(o3)(3);

// ---- constructors: every overload, up to 16 too ----
type ConstructOverloaded<K extends number, Done extends unknown[] = []> = Done['length'] extends K
  ? unknown
  : (new (x: Done['length']) => { tag: `r${Done['length']}` }) & ConstructOverloaded<K, [...Done, 0]>;
declare const C2: ConstructOverloaded<2>;
declare const C16: ConstructOverloaded<16>;
declare const C17: ConstructOverloaded<17>;
expectTypeOf(new (smartasync(C2))(0).sync).toEqualTypeOf<{ tag: 'r0' }>();
expectTypeOf(new (smartasync(C2))(1).sync).toEqualTypeOf<{ tag: 'r1' }>();
expectTypeOf(new (smartasync(C16))(0).sync).toEqualTypeOf<{ tag: 'r0' }>();
expectTypeOf(new (smartasync(C16))(15).sync).toEqualTypeOf<{ tag: 'r15' }>();
expectTypeOf(new (smartasync(C17))(16).sync).toEqualTypeOf<{ tag: 'r16' }>();
// @ts-expect-error past 16 constructors, the first is gone
void new (smartasync(C17))(0);
// @ts-expect-error C2 has no constructor for 2
void new (smartasync(C2))(2);
