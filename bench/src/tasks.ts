// The work every candidate runs on its worker. Kept in one module so that each peer's worker
// file and the smartasync task module execute byte-for-byte the same function bodies.

export interface Small {
  ok: true;
  a: number;
}

export interface Row {
  id: number;
  name: string;
  email: string;
}

export function noop(x: { a: number }): Small {
  return { ok: true, a: x.a };
}

// Rows are built fresh on each call, like a driver materialising a query result: a cached
// array would let a transport that shares memory look better than it would in real use.
export function rows(n: number): Row[] {
  const out = new Array<Row>(n);
  for (let i = 0; i < n; i++) {
    out[i] = { id: i + 1, name: `User ${i + 1}`, email: `user${i + 1}@example.com` };
  }
  return out;
}

export const ROWS = 1000;
