/**
 * Overloads: the call or construct signatures of a type, in order, as `[parameters, result]`
 * pairs. `Parameters<F>` and `ReturnType<F>` see only an overloaded function's last
 * signature; a wrapped function must keep them all, each with its own result type.
 *
 * TypeScript infers several signatures at once only by matching a type with as many
 * signatures: matched against a function that has fewer, the leading slots repeat its first
 * signature, which `DropRepeats` removes. A function with more than 16 overloads keeps its
 * last 16: the README says so.
 */

/** How many overloads a wrapped function or constructor keeps. */
export type MaxOverloads = 16;

/** One signature: its parameters and what it returns (or, for a constructor, builds). */
export type Signature = [args: unknown[], result: unknown];

/** Whether `X` and `Y` are the same type (not merely assignable to each other). */
export type Same<X, Y> = (<G>() => G extends X ? 1 : 2) extends <G>() => G extends Y ? 1 : 2 ? true : false;

/** Drops the leading copies of the first signature that matching against 16 slots leaves. */
type DropRepeats<S extends Signature[]> = S extends [
  infer A extends Signature,
  infer B extends Signature,
  ...infer Rest extends Signature[],
]
  ? Same<A, B> extends true
    ? DropRepeats<[B, ...Rest]>
    : S
  : S;

/** The call signatures of `F`, in declaration order. */
export type CallSignatures<F> = DropRepeats<
  F extends {
    (...args: infer A1 extends unknown[]): infer R1;
    (...args: infer A2 extends unknown[]): infer R2;
    (...args: infer A3 extends unknown[]): infer R3;
    (...args: infer A4 extends unknown[]): infer R4;
    (...args: infer A5 extends unknown[]): infer R5;
    (...args: infer A6 extends unknown[]): infer R6;
    (...args: infer A7 extends unknown[]): infer R7;
    (...args: infer A8 extends unknown[]): infer R8;
    (...args: infer A9 extends unknown[]): infer R9;
    (...args: infer A10 extends unknown[]): infer R10;
    (...args: infer A11 extends unknown[]): infer R11;
    (...args: infer A12 extends unknown[]): infer R12;
    (...args: infer A13 extends unknown[]): infer R13;
    (...args: infer A14 extends unknown[]): infer R14;
    (...args: infer A15 extends unknown[]): infer R15;
    (...args: infer A16 extends unknown[]): infer R16;
  }
    ? [
        [A1, R1],
        [A2, R2],
        [A3, R3],
        [A4, R4],
        [A5, R5],
        [A6, R6],
        [A7, R7],
        [A8, R8],
        [A9, R9],
        [A10, R10],
        [A11, R11],
        [A12, R12],
        [A13, R13],
        [A14, R14],
        [A15, R15],
        [A16, R16],
      ]
    : []
>;

/** The construct signatures of a concrete class `C`, in declaration order. */
export type ConstructSignatures<C> = DropRepeats<
  C extends {
    new (...args: infer A1 extends unknown[]): infer R1;
    new (...args: infer A2 extends unknown[]): infer R2;
    new (...args: infer A3 extends unknown[]): infer R3;
    new (...args: infer A4 extends unknown[]): infer R4;
    new (...args: infer A5 extends unknown[]): infer R5;
    new (...args: infer A6 extends unknown[]): infer R6;
    new (...args: infer A7 extends unknown[]): infer R7;
    new (...args: infer A8 extends unknown[]): infer R8;
    new (...args: infer A9 extends unknown[]): infer R9;
    new (...args: infer A10 extends unknown[]): infer R10;
    new (...args: infer A11 extends unknown[]): infer R11;
    new (...args: infer A12 extends unknown[]): infer R12;
    new (...args: infer A13 extends unknown[]): infer R13;
    new (...args: infer A14 extends unknown[]): infer R14;
    new (...args: infer A15 extends unknown[]): infer R15;
    new (...args: infer A16 extends unknown[]): infer R16;
  }
    ? [
        [A1, R1],
        [A2, R2],
        [A3, R3],
        [A4, R4],
        [A5, R5],
        [A6, R6],
        [A7, R7],
        [A8, R8],
        [A9, R9],
        [A10, R10],
        [A11, R11],
        [A12, R12],
        [A13, R13],
        [A14, R14],
        [A15, R15],
        [A16, R16],
      ]
    : C extends abstract new (...args: infer A extends unknown[]) => infer I
      ? [[A, I]] // an abstract class: no type literal can spell its signatures, so its last one
      : []
>;
