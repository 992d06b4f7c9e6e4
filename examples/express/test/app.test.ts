// The Express app over real HTTP, its data in a temporary SQLite file. While the heavy report
// runs on a worker, the light route keeps answering and the event loop keeps ticking; the
// control serves the same app from the plain store, and the same measurement sees it blocked.
import { once } from 'node:events';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getPool } from 'smartasync';
import {
  assertBlocked,
  assertResponsive,
  checkUsersRoutes,
  describePool,
  expectedChecksum,
  lightWhileHeavy,
} from '../../shared/light-while-heavy.ts';
import { createApp, type UserService } from '../src/app.ts';
import { UserStore, Users } from '../src/store.ts';

// About 1 s of SQLite work here (a slower machine only widens the window): long beside the
// pauses a loaded machine gives any process now and then.
const REPORT_ROWS = 3_000_000;
const CHECKSUM = expectedChecksum(REPORT_ROWS);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-express-'));
const file = path.join(dir, 'users.db');
const users = new Users(file);
let light: { id: number; name: string };

before(async () => {
  await getPool().warm(users); // what is timed below is the report, not starting workers
  light = await users.add('Ada');
});

after(async () => {
  await users.close(); // every worker's connection, then this thread's
  await getPool().close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(service: UserService): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createApp(service, REPORT_ROWS).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('users: create, read, not found, bad input', async () => {
  const { base, close } = await serve(users);
  try {
    await checkUsersRoutes(base);
  } finally {
    await close();
  }
});

test('the light route answers while the heavy report runs on a worker', async (t) => {
  const { base, close } = await serve(users);
  try {
    assertResponsive(t, await lightWhileHeavy(base, light, CHECKSUM), () => describePool(getPool().stats()));
  } finally {
    await close();
  }
});

test('control: the plain store, called on the event loop, blocks every request while the report runs', async (t) => {
  const plain = new UserStore(file);
  const { base, close } = await serve(plain);
  try {
    assertBlocked(t, await lightWhileHeavy(base, light, CHECKSUM));
  } finally {
    await close();
    plain.close();
  }
});
