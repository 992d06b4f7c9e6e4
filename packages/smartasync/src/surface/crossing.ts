/**
 * What crosses threads, as far as types can tell: the compile-time side of `wire/values.ts`.
 * A value whose type shows a function or a symbol anywhere inside (a class instance's
 * methods included) is refused at run time; these types find it first, with the same kind of
 * path (`result.user.validate is a function`), so that the call can be refused before it
 * runs. What types cannot show (a class instance without public methods, a subclass of
 * `Map`, a native handle typed as a plain object) is still caught at run time.
 */
import type { TransferItem } from '../types.ts';

/** Whether `T` is `any`: it could be anything, so it is never refused. */
export type IsAny<T> = 0 extends 1 & T ? true : false;

type Primitive = string | number | boolean | bigint | null | undefined | void;

/** Built-ins that structured clone copies whole, methods and all (`wire/values.ts`). */
type Whole =
  | Date
  | RegExp
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Error
  | import('node:buffer').Blob
  // Wrapper objects (`new Number(1)`) clone whole too: rare, but not refused.
  // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
  | Boolean
  // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
  | Number
  // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
  | String;

/** How deep the search goes; deeper (or recursive) types are left to the run-time check. */
type Deeper = [1, 2, 3, 4, 5, 6, 7, 8, never];

/** `.name`, or `[key]` for an index signature. */
type Step<Path extends string, K extends string | number> = string extends K ? `${Path}[key]` : `${Path}.${K}`;

/** The keys of `T` a value may lack: a caller may leave them out, so they never block an argument. */
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * Why a `T` cannot cross threads, one message per problem (`args[0].cb is a function`);
 * `never` when its type shows none. `Extra`: what may cross besides (transferable objects, for
 * arguments). `Lenient`, for arguments: the caller chooses the value, so optional properties
 * never block, and a union blocks only when none of its members can cross (`string | URL`
 * takes a string).
 */
export type CrossingProblem<T, Path extends string, Extra = never, Lenient = false, D extends number = 0> = [
  D,
] extends [never]
  ? never
  : Lenient extends true
    ? true extends (
        T extends unknown ? ([MemberProblem<T, Path, Extra, Lenient, D>] extends [never] ? true : false) : never
      )
      ? never
      : MemberProblem<T, Path, Extra, Lenient, D>
    : MemberProblem<T, Path, Extra, Lenient, D>;

/** The problems of each member of `T` (a union distributes). */
type MemberProblem<T, Path extends string, Extra, Lenient, D extends number> =
  IsAny<T> extends true
    ? never
    : unknown extends T
      ? never
      : T extends Primitive | Whole | Extra
        ? never
        : T extends symbol
          ? `${Path} is a symbol`
          : T extends Function
            ? `${Path} is a function`
            : T extends PromiseLike<unknown>
              ? `${Path} is a promise`
              : T extends ReadonlyMap<infer K, infer V>
                ? | CrossingProblem<K, `${Path}'s keys`, Extra, Lenient, Deeper[D]>
                  | CrossingProblem<V, `${Path}'s values`, Extra, Lenient, Deeper[D]>
                : T extends ReadonlySet<infer V>
                  ? CrossingProblem<V, `${Path}'s items`, Extra, Lenient, Deeper[D]>
                  : T extends readonly (infer E)[]
                    ? CrossingProblem<E, `${Path}[i]`, Extra, Lenient, Deeper[D]>
                    : PropertyProblem<T, Path, Extra, Lenient, D>;

/** The keys of `T` that a problem may sit under: all, or for arguments only the required ones. */
type CheckedKeys<T, Lenient> = Exclude<keyof T, symbol | (Lenient extends true ? OptionalKeys<T> : never)>;

/** The keys of `T` (among `Keys`) whose values are functions. */
type MethodKeys<T, Keys extends keyof T> = {
  [K in Keys]-?: [Extract<T[K], Function>] extends [never] ? never : K;
}[Keys];

type IsUnion<U, All = U> = U extends unknown ? ([All] extends [U] ? false : true) : never;

/**
 * An object: its one method named (`result.callback is a function`), or, for several (a class
 * instance, typically), one message rather than one per method; else the problems of its
 * properties.
 */
type PropertyProblem<T, Path extends string, Extra, Lenient, D extends number> = [
  MethodKeys<T, CheckedKeys<T, Lenient>>,
] extends [never]
  ? {
      [K in CheckedKeys<T, Lenient>]-?: CrossingProblem<
        T[K],
        Step<Path, K & (string | number)>,
        Extra,
        Lenient,
        Deeper[D]
      >;
    }[CheckedKeys<T, Lenient>]
  : true extends IsUnion<MethodKeys<T, CheckedKeys<T, Lenient>>>
    ? `${Path} is an object with methods`
    : `${Step<Path, MethodKeys<T, CheckedKeys<T, Lenient>> & (string | number)>} is a function`;

/**
 * Why arguments `A` cannot cross: the required leading parameters only, since a caller may
 * leave out optional and rest ones. Transferable objects may cross (`transfer`).
 */
export type ArgumentsProblem<A extends unknown[], Done extends unknown[] = []> = A extends [infer First, ...infer Rest]
  ? CrossingProblem<First, `args[${Done['length']}]`, TransferItem, true> | ArgumentsProblem<Rest, [...Done, First]>
  : never;
