// The transport channel on its own: ordering across the ring and the port, records over the
// size limit, a backlog when the ring is full, and the owed-wake-up invariant across threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Channel, createChannelEnds, owesWakeups, Spin } from '../src/wire/transport.ts';
import { Ring } from '../src/wire/ring.ts';

/** Both ends of one channel on this thread; `received` collects what B reads. */
function pair(ringBytes: number) {
  const { port1, port2 } = new MessageChannel();
  const { here, there } = createChannelEnds(port1, port2, ringBytes);
  const received: unknown[] = [];
  let arrived: (() => void) | undefined;
  const a = new Channel<unknown, unknown>(here, () => {});
  const b = new Channel<unknown, unknown>(there, (batch) => {
    received.push(...batch);
    arrived?.();
  });
  const until = (count: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} messages arrived`)), 5_000);
      arrived = () => {
        if (received.length < count) return;
        clearTimeout(timer);
        resolve();
      };
      arrived();
    });
  const close = (): void => {
    a.close();
    b.close();
    port1.close();
  };
  return { a, received, until, close };
}

test('messages arrive in send order, whichever way each one travels', async () => {
  const { a, received, until, close } = pair(4096);
  const sab = new SharedArrayBuffer(8);
  const moved = new ArrayBuffer(16);
  const sent: unknown[] = [
    { n: 1, plain: 'json' },
    { n: 2, when: new Date(0), big: 10n }, // v8 serializer
    { n: 3, sab }, // only a port can share it
    { n: 4, moved }, // a transfer list
    { n: 5, text: 'x'.repeat(2_000) }, // over the record limit (4096 / 4)
    { n: 6, plain: 'json again' },
  ];
  a.send(sent[0], { encoding: 'json' });
  a.send(sent[1]);
  a.send(sent[2]);
  a.send(sent[3], { transfer: [moved] });
  a.send(sent[4], { encoding: 'json' });
  a.send(sent[5], { encoding: 'json' });
  await until(6);
  assert.deepEqual(
    received.map((m) => (m as { n: number }).n),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(received[1], sent[1]);
  assert.ok((received[2] as { sab: unknown }).sab instanceof SharedArrayBuffer);
  assert.equal(moved.byteLength, 0, 'the transferred buffer left this thread');
  assert.equal((received[3] as { moved: ArrayBuffer }).moved.byteLength, 16);
  assert.equal((received[4] as { text: string }).text.length, 2_000);
  close();
});

test('texts cross as raw UTF-8 beside a JSON message, in order with the rest, the port too past the limit', async () => {
  const { a, received, until, close } = pair(64 * 1024);
  const ndjson = '{"id":1,"name":"Zoë \\"Z\\" 🐝"}\n{"id":2,"name":"line\\nbreak"}\n';
  const texts = [ndjson, '', 'ascii only', '"quoted"\t\u0000', ndjson.repeat(100)];
  a.send({ n: 1 }, { encoding: 'json' });
  a.send({ n: 2, value: { items: [] } }, { encoding: 'json', texts });
  a.send({ n: 3 }, { encoding: 'json', texts: ['x'.repeat(20_000)] }); // over a record (64 K / 4): by port
  a.send({ n: 4 }, { encoding: 'json' });
  await until(4);
  close();
  assert.deepEqual(received, [
    { n: 1 },
    { n: 2, value: { items: [] }, texts },
    { n: 3, texts: ['x'.repeat(20_000)] },
    { n: 4 },
  ]);
});

test('a burst larger than the ring waits in a backlog and arrives whole and in order', async () => {
  const { a, received, until, close } = pair(1024);
  const count = 500; // about 20 kB of records through a 1 kB ring, sent in one task
  for (let i = 0; i < count; i++) a.send({ i, pad: 'p'.repeat(i % 30) }, { encoding: i % 2 === 0 ? 'json' : 'v8' });
  await until(count);
  assert.deepEqual(
    received.map((m) => (m as { i: number }).i),
    Array.from({ length: count }, (_, i) => i),
  );
  close();
});

test('a burst of sends owes one wake-up, paid before the task ends', async () => {
  const { a, until, close } = pair(4096);
  assert.equal(owesWakeups(), false);
  a.send({ n: 1 }, { encoding: 'json' });
  a.send({ n: 2 }, { encoding: 'json' });
  assert.equal(owesWakeups(), true, 'sends in one task share a wake-up');
  await Promise.resolve();
  assert.equal(owesWakeups(), false, 'paid by the end of the task');
  a.send({ n: 3 }, { encoding: 'json', now: true });
  assert.equal(owesWakeups(), false, 'a send with `now` wakes at once');
  await until(3);
  close();
});

for (const vouch of [false, true])
  test(`a reader that blocks between messages never sleeps on a reply its own thread wrote (${vouch ? 'the owner says when it may block' : 'no word from the owner'})`, async (t) => {
    // The worker blocks up to 10 s between messages and writes each reply in a microtask
    // after the one in which its reader looks at the ring again: if it blocked before paying
    // the wake-up it owes, each reply would wait out the block.
    const { port1, port2 } = new MessageChannel();
    const { here, there } = createChannelEnds(port1, port2);
    const worker = new Worker(new URL('./fixtures/transport-peer.ts', import.meta.url), {
      workerData: { mode: 'reply-late', ends: there, blockMs: 10_000, vouch },
      transferList: [port2],
    });
    t.after(() => worker.terminate());
    let reply: ((m: unknown) => void) | undefined;
    const channel = new Channel<unknown, unknown>(here, (batch) => batch.forEach((m) => reply?.(m)));
    const roundTrip = (n: number, limitMs: number): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`reply ${n} took over ${limitMs} ms: it waited for the block to end`)),
          limitMs,
        );
        reply = (m) => {
          clearTimeout(timer);
          resolve(m);
        };
        channel.send({ n }, { encoding: 'json' });
      });
    assert.deepEqual(await roundTrip(0, 5_000), { echo: { n: 0 } }); // the worker is up
    for (let n = 1; n <= 20; n++) {
      await new Promise((r) => setTimeout(r, 2)); // the worker is blocked when the next arrives
      assert.deepEqual(await roundTrip(n, 1_000), { echo: { n } });
    }
    channel.close();
  });

test('a thread about to block pays the wake-ups it owes on its other channels first', async (t) => {
  // This thread sends on channel A without waking its reader yet, then blocks on channel B.
  // The worker answers on B only after reading A: were A's wake-up not paid before
  // blocking, the worker would sleep and this thread would wait out the 5 s deadline.
  const ab = new MessageChannel();
  const a = createChannelEnds(ab.port1, ab.port2);
  const bb = new MessageChannel();
  const b = createChannelEnds(bb.port1, bb.port2);
  const worker = new Worker(new URL('./fixtures/transport-peer.ts', import.meta.url), {
    workerData: { mode: 'relay', from: a.there, to: b.there },
    transferList: [ab.port2, bb.port2],
  });
  t.after(() => worker.terminate());
  await new Promise((r) => worker.once('online', r));
  const out = new Channel<unknown, unknown>(a.here, () => {});
  const back = new Channel<unknown, unknown>(b.here, () => {}, { receive: 'sync' });
  await new Promise((r) => setTimeout(r, 50)); // the worker's reader is asleep on A
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    out.send({ i }, { encoding: 'json' }); // owed, not yet paid
    const got = back.receiveSync(performance.now() + 5_000);
    assert.deepEqual(got, { relayed: { i } });
    assert.ok(performance.now() - t < 2_500, 'the relay was woken before this thread blocked');
  }
  out.close();
  back.close();
});

test('a reader that expects nothing reads the reply its peer wrote while being woken, in the same task', async (t) => {
  // The peer is played by hand on this thread: it "sleeps" on its ring, and when this thread
  // pays the wake-up (Atomics.notify on that ring) it answers at once, as a worker woken on
  // this core does before this thread runs on. The reader expects nothing (no request in
  // flight) until the send, so it has not slept on its own ring: it looks again right after
  // paying, and the reply is handed over before any macrotask. A reader asleep in waitAsync
  // would get it only after an event-loop turn.
  const { port1, port2 } = new MessageChannel();
  const { here, there } = createChannelEnds(port1, port2, 4096);
  const peerIn = new Ring(there.in);
  const peerOut = new Ring(there.out);
  const notify = Atomics.notify;
  let answered = 0;
  Atomics.notify = (array, index, count) => {
    if (array.buffer === there.in) {
      peerIn.read((bytes, start, end) => {
        const request = JSON.parse(Buffer.from(bytes.subarray(start, end)).toString()) as { n: number };
        peerOut.writeString(JSON.stringify({ reply: request.n }));
        peerOut.notify();
        answered++;
      });
    }
    return notify(array as Int32Array, index, count);
  };
  t.after(() => {
    Atomics.notify = notify;
  });
  let expected = 0;
  const replies: unknown[] = [];
  const channel = new Channel<unknown, unknown>(
    here,
    (batch) => {
      expected -= batch.length;
      replies.push(...batch);
    },
    { expectsNothing: () => expected === 0 },
  );
  t.after(() => channel.close());
  void peerIn.waitAsync(peerIn.seq()); // the peer sleeps: a write to it must be paid with a wake-up
  await new Promise((r) => setImmediate(r)); // the reader has looked, found nothing, and expects nothing
  for (let n = 1; n <= 3; n++) {
    let turned = false;
    setImmediate(() => (turned = true));
    expected++;
    channel.send({ n }, { encoding: 'json' });
    for (let i = 0; i < 10 && replies.length < n; i++) await Promise.resolve();
    assert.equal(answered, n, 'the peer was woken and answered');
    assert.deepEqual(replies.at(-1), { reply: n }, 'the reply was read in the task that sent');
    assert.equal(turned, false, 'no event-loop turn came between');
    void peerIn.waitAsync(peerIn.seq());
    await new Promise((r) => setImmediate(r));
  }
  // A reply still to come (the peer slower than the wake-up) is waited for as usual.
  expected++;
  Atomics.notify = notify;
  channel.send({ n: 4 }, { encoding: 'json' });
  await new Promise((r) => setImmediate(r));
  peerIn.read(() => {});
  peerOut.writeString(JSON.stringify({ reply: 4 }));
  peerOut.notify();
  for (let i = 0; i < 100 && replies.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(replies.at(-1), { reply: 4 });
});

test('a reader polls while messages come within a poll of each other, and stops when they come wider apart', () => {
  // learn(ms): how long the reader then blocked after a poll that found nothing.
  const spin = new Spin(100, undefined, 1);
  assert.equal(spin.budgetUs, 25);
  for (let i = 0; i < 5; i++) spin.learn(0.01); // the next call came 10 µs after the poll gave up
  assert.equal(spin.budgetUs, 100, 'calls back to back: it polls up to the maximum');
  for (let i = 0; i < 12; i++) spin.learn(0.15); // calls 150 µs past the poll: no poll of 100 µs would catch them
  assert.ok(spin.budgetUs < 1, `calls spaced wider than the maximum: no polling (${spin.budgetUs} µs)`);
  spin.learn(0.005); // a call right after the block: it polls again
  assert.ok(spin.budgetUs >= 4);
  for (let i = 0; i < 5; i++) spin.learn(0.015); // back to back again
  assert.equal(spin.budgetUs, 100);
  const off = new Spin(0, undefined, 1); // one core: never
  off.learn(0.001);
  assert.equal(off.budgetUs, 0);
});
