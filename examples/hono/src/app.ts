// The Hono app. It takes the store it should use: the smartasync-wrapped one in the server
// (calls run on workers), the plain one in the test's control (calls block the event loop).
import { Hono } from 'hono';
import type { Report, User } from './store.ts';

/** What the routes call; `await` makes both the wrapped and the plain store fit. */
export interface UserService {
  add(name: string): User | Promise<User>;
  get(id: number): User | undefined | Promise<User | undefined>;
  report(rows: number): Report | Promise<Report>;
}

export function createApp(users: UserService, reportRows = 1_500_000): Hono {
  const app = new Hono();

  app.post('/users', async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    const name = (body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name.length === 0) return c.json({ error: 'name must be a non-empty string' }, 400);
    return c.json(await users.add(name), 201);
  });

  app.get('/users/:id', async (c) => {
    const user = await users.get(Number(c.req.param('id')));
    return user ? c.json(user) : c.json({ error: `no user ${c.req.param('id')}` }, 404);
  });

  // The heavy route: a synchronous scan that takes hundreds of milliseconds.
  app.get('/reports/activity', async (c) => c.json(await users.report(reportRows)));

  return app;
}
