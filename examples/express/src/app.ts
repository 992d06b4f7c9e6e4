// The Express app. It takes the store it should use: the smartasync-wrapped one in the server
// (calls run on workers), the plain one in the test's control (calls block the event loop).
import express from 'express';
import type { Report, User } from './store.ts';

/** What the routes call; `await` makes both the wrapped and the plain store fit. */
export interface UserService {
  add(name: string): User | Promise<User>;
  get(id: number): User | undefined | Promise<User | undefined>;
  report(rows: number): Report | Promise<Report>;
}

export function createApp(users: UserService, reportRows = 1_500_000): express.Express {
  const app = express();
  app.use(express.json());

  app.post('/users', async (req, res) => {
    const name: unknown = req.body?.name;
    if (typeof name !== 'string' || name.length === 0) {
      res.status(400).json({ error: 'name must be a non-empty string' });
      return;
    }
    res.status(201).json(await users.add(name));
  });

  app.get('/users/:id', async (req, res) => {
    const user = await users.get(Number(req.params.id));
    if (user) res.json(user);
    else res.status(404).json({ error: `no user ${req.params.id}` });
  });

  // The heavy route: a synchronous scan that takes hundreds of milliseconds.
  app.get('/reports/activity', async (_req, res) => {
    res.json(await users.report(reportRows));
  });

  return app;
}
