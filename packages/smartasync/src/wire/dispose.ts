/** Disposing an object the way its class says it should be. */

/** Calls `Symbol.asyncDispose`, else `Symbol.dispose`, else `close()`, if the object has one. */
export async function disposeObject(obj: object | undefined): Promise<void> {
  if (!obj) return;
  const o = obj as Record<string | symbol, unknown>;
  for (const key of [Symbol.asyncDispose, Symbol.dispose, 'close']) {
    if (typeof o[key] === 'function') {
      await (o[key] as () => unknown).call(obj);
      return;
    }
  }
}
