// kill -9 of the real server process in the middle of concurrent writes (new users and
// transfers), on each driver: the database stays intact, every write the server acknowledged
// (201) is there after a restart, and the ledger agrees with the balances (total unchanged).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dialectOf, DRIVERS, type TestDatabases, needs, testDatabases } from './support/databases.ts';
import { rawQuery as query } from './support/raw.ts';
import { json, type Server, startServer } from './support/server.ts';

const ACCOUNTS = 6;
const OPENING = 1000;
const ROUNDS = 2;

let databases: TestDatabases;
before(async () => {
  databases = await testDatabases();
});
after(() => databases?.stop());

interface Acknowledged {
  users: Map<number, string>;
  transfers: Set<number>;
}

/** Eight clients writing until the server dies; what it answered 201 to. */
function writers(server: Server, accountIds: number[], round: number, acknowledged: Acknowledged) {
  let running = true;
  let n = 0;
  const loops = Array.from({ length: 8 }, async (_, client) => {
    while (running) {
      const i = n++;
      try {
        if (client % 2 === 0) {
          const email = `r${round}-c${client}-${i}@durable.test`;
          const response = await fetch(`${server.base}/users`, json({ name: `W${i}`, email }));
          if (response.status === 201) acknowledged.users.set(((await response.json()) as { id: number }).id, email);
          else await response.arrayBuffer();
        } else {
          const from = accountIds[i % ACCOUNTS]!;
          const to = accountIds[(i * 7 + 1) % ACCOUNTS]!;
          const response = await fetch(
            `${server.base}/transfers`,
            json({ from, to: to === from ? accountIds[(i + 1) % ACCOUNTS] : to, amount: 1 + (i % 50) }),
          );
          if (response.status === 201) acknowledged.transfers.add(((await response.json()) as { id: number }).id);
          else await response.arrayBuffer();
        }
      } catch {
        // The server died under this request: not acknowledged, so either outcome is correct.
        return;
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

// The drivers' suites overlap, two at a time: each checks what was stored, not how fast.
describe('each driver', { concurrency: 2 }, () => {
  for (const driver of DRIVERS) {
    describe(driver, needs(driver), () => {
      test(
        `kill -9 during concurrent writes, ${ROUNDS} rounds: intact, every acknowledged write present, total unchanged`,
        { timeout: 120_000 },
        async () => {
          const url = databases.freshUrl(driver);
          const acknowledged: Acknowledged = { users: new Map(), transfers: new Set() };
          let accountIds: number[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            const server = await startServer({ DATABASE_URL: url, LOG_LEVEL: 'info' });
            try {
              if (round === 0) {
                for (let i = 0; i < ACCOUNTS; i++) {
                  const response = await fetch(
                    `${server.base}/accounts`,
                    json({ owner: `Acc ${i}`, balance: OPENING }),
                  );
                  assert.equal(response.status, 201);
                  accountIds.push(((await response.json()) as { id: number }).id);
                }
              }
              const before = acknowledged.users.size + acknowledged.transfers.size;
              const load = writers(server, accountIds, round, acknowledged);
              // Kill once a good number of writes went through, so the kill lands among writes in flight.
              const deadline = Date.now() + 10_000;
              while (acknowledged.users.size + acknowledged.transfers.size < before + 150 && Date.now() < deadline)
                await new Promise((r) => setTimeout(r, 5));
              server.child.kill('SIGKILL');
              await server.exited;
              await load.stop();
            } finally {
              server.child.kill('SIGKILL');
            }

            if (dialectOf(driver) !== 'sqlite') {
              const [violations] = await query(
                driver,
                url,
                `SELECT count(*) AS n FROM accounts WHERE balance < 0 OR balance > 9007199254740991`,
              );
              assert.equal(Number(violations!.n), 0);
            } else {
              assert.deepEqual(await query(driver, url, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
              assert.deepEqual(await query(driver, url, 'PRAGMA foreign_key_check'), []);
            }

            // After a restart, through the API: every acknowledged user is there, and the balances
            // are what the ledger of stored transfers says, so the total is unchanged.
            const restarted = await startServer({ DATABASE_URL: url, LOG_LEVEL: 'info' });
            try {
              const users = (await (await fetch(`${restarted.base}/users`)).json()) as { id: number; email: string }[];
              const stored = new Map(users.map((u) => [u.id, u.email]));
              for (const [id, email] of acknowledged.users)
                assert.equal(stored.get(id), email, `acknowledged user ${id} (${email})`);
              const accounts = (await (await fetch(`${restarted.base}/accounts`)).json()) as {
                id: number;
                balance: number;
              }[];
              assert.equal(
                accounts.reduce((sum, a) => sum + a.balance, 0),
                ACCOUNTS * OPENING,
                'total of balances',
              );
              accountIds = accounts.map((a) => a.id);
            } finally {
              restarted.child.kill('SIGTERM');
              await restarted.exited;
            }
            const ledger = await query(
              driver,
              url,
              'SELECT id, from_account, to_account, amount FROM transfers ORDER BY id',
            );
            const ids = new Set(ledger.map((t) => Number(t.id)));
            for (const id of acknowledged.transfers) assert.ok(ids.has(id), `acknowledged transfer ${id}`);
            const expected = new Map(accountIds.map((id) => [id, OPENING]));
            for (const t of ledger) {
              expected.set(Number(t.from_account), expected.get(Number(t.from_account))! - Number(t.amount));
              expected.set(Number(t.to_account), expected.get(Number(t.to_account))! + Number(t.amount));
            }
            const balances = await query(driver, url, 'SELECT id, balance FROM accounts ORDER BY id');
            for (const a of balances)
              assert.equal(
                Number(a.balance),
                expected.get(Number(a.id)),
                `account ${a.id}: balance agrees with the ledger`,
              );
          }
          assert.ok(
            acknowledged.users.size > 0 && acknowledged.transfers.size > 0,
            'writes were acknowledged before each kill',
          );
        },
      );
    });
  }
});
