// The shared-memory ring on its own: record layout, wrap-around, the exact-fit and full-ring
// edges, and the wake-up word, without the rest of the library on top.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Ring } from '../src/wire/ring.ts';

function bytesOf(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** Reads every record now in the ring, as plain arrays. */
function drain(ring: Ring): number[][] {
  const out: number[][] = [];
  while (ring.read((bytes, start, end) => out.push([...bytes.subarray(start, end)])));
  return out;
}

test('records come out in order, whole, and an empty ring reads nothing', () => {
  const ring = new Ring(64);
  assert.equal(
    ring.read(() => assert.fail('read from an empty ring')),
    false,
  );
  assert.ok(ring.write(bytesOf(3, 1)));
  assert.ok(ring.write(bytesOf(0, 0)), 'an empty record is a record');
  assert.ok(ring.write(bytesOf(5, 2)));
  assert.deepEqual(drain(ring), [[1, 1, 1], [], [2, 2, 2, 2, 2]]);
  assert.deepEqual(drain(ring), []);
});

test('a record that does not fit the tail continues at the start, after the older records', () => {
  const ring = new Ring(64);
  for (const fill of [1, 2, 3]) assert.ok(ring.write(bytesOf(12, fill))); // 16 bytes each: write at 48
  const firstTwo: number[][] = [];
  ring.read((b, s, e) => firstTwo.push([...b.subarray(s, e)]));
  ring.read((b, s, e) => firstTwo.push([...b.subarray(s, e)])); // read at 32
  assert.deepEqual(
    firstTwo,
    [bytesOf(12, 1), bytesOf(12, 2)].map((a) => [...a]),
  );
  assert.ok(ring.write(bytesOf(20, 4)), '24 bytes: the 16-byte tail is too short, the start has room');
  assert.deepEqual(drain(ring), [[...bytesOf(12, 3)], [...bytesOf(20, 4)]]);
  // And it keeps going round.
  for (let round = 0; round < 50; round++) {
    assert.ok(ring.write(bytesOf(round % 17, round)));
    assert.ok(ring.write(bytesOf(9, 255 - round)));
    assert.deepEqual(drain(ring), [[...bytesOf(round % 17, round)], [...bytesOf(9, 255 - round)]]);
  }
});

test('a record may fill the tail exactly, but never make a full ring look empty', () => {
  const fresh = new Ring(64);
  assert.equal(fresh.write(bytesOf(60, 1)), false, '64 of 64 bytes would leave write === read');
  assert.ok(fresh.write(bytesOf(56, 1)), '60 of 64 bytes fit');
  assert.equal(fresh.write(bytesOf(0, 0)), false, 'the last 4 bytes stay free');

  const ring = new Ring(64);
  assert.ok(ring.write(bytesOf(12, 1)));
  drain(ring); // read = write = 16
  assert.ok(ring.write(bytesOf(44, 2)), 'a 48-byte record fills 16..64 exactly');
  assert.ok(ring.write(bytesOf(8, 3)), 'and the next one starts at 0');
  assert.deepEqual(drain(ring), [[...bytesOf(44, 2)], [...bytesOf(8, 3)]]);
  assert.ok(ring.write(bytesOf(1, 4)));
  assert.deepEqual(drain(ring), [[4]]);
});

test('a full ring refuses a write until the reader frees room', () => {
  const ring = new Ring(64);
  let written = 0;
  while (ring.write(bytesOf(4, written + 1))) written++;
  assert.equal(written, 7, 'seven 8-byte records in 64 bytes, one slot kept free');
  assert.equal(ring.write(bytesOf(4, 99)), false);
  ring.read(() => {});
  assert.ok(ring.write(bytesOf(4, 99)), 'room again after one read');
  const rest = drain(ring);
  assert.equal(rest.length, 7);
  assert.deepEqual(rest.at(-1), [99, 99, 99, 99]);
});

test('text is encoded into the ring as UTF-8 and read back unchanged', () => {
  const ring = new Ring(256);
  const texts = ['{"a":1}', 'żółć — 東京 — 🎉', ''];
  for (const t of texts) assert.ok(ring.writeString(t));
  const back: string[] = [];
  while (ring.read((_bytes, start, end) => back.push(ring.text(start, end))));
  assert.deepEqual(back, texts);
  assert.equal(ring.writeString('x'.repeat(300)), false, 'longer than the ring');
  // Near-full: the 3-bytes-per-unit guess fails, the measured length fits.
  assert.ok(ring.writeString('y'.repeat(200)));
});

test('the wake-up word: a sleeping reader is woken by a write from another thread, and times out without one', async () => {
  const ring = new Ring(64);
  const started = performance.now();
  assert.equal(ring.waitSync(ring.seq(), 30), false, 'no write: timed out');
  assert.ok(performance.now() - started >= 25);

  // A worker writes one record after 50 ms and notifies; this thread sleeps up to 10 s.
  const worker = new Worker(new URL('./fixtures/transport-peer.ts', import.meta.url), {
    workerData: { mode: 'ring-write-later', sab: ring.sab, afterMs: 50 },
  });
  await new Promise((r) => worker.once('online', r));
  const t = performance.now();
  assert.equal(ring.waitSync(ring.seq(), 10_000), true);
  assert.ok(performance.now() - t < 5_000, 'woken by the write, not the timeout');
  assert.deepEqual(drain(ring), [[42]]);
  await worker.terminate();
});
