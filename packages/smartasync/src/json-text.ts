/** JSON text of a result, as `f.json()` promises: `undefined` becomes `null`. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
