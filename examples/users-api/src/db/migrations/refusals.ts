// Checks a migration makes before it adds a rule: rows that break the rule need a decision
// (which user keeps the address, what a balance should be), not a guess.
import { SchemaUpgradeError } from '../errors.ts';
import type { MigrationConnection } from './types.ts';

// Number.MAX_SAFE_INTEGER: see MAX_MONEY in ../../schemas.ts.
export const MAX_MONEY = '9007199254740991';

/** Refuses the upgrade if a balance or an amount matches the SQL conditions given (at most 5 of each named). */
export async function refuseBadMoney(db: MigrationConnection, badBalance: string, badAmount: string): Promise<void> {
  const accounts = await db.all(`SELECT id FROM accounts WHERE ${badBalance} ORDER BY id LIMIT 5`);
  const transfers = await db.all(`SELECT id FROM transfers WHERE ${badAmount} ORDER BY id LIMIT 5`);
  if (accounts.length === 0 && transfers.length === 0) return;
  throw new SchemaUpgradeError(
    `money must be whole numbers of cents from 0 to ${MAX_MONEY}, but ` +
      [
        accounts.length > 0 ? `accounts ${accounts.map((r) => r.id).join(', ')} hold other balances` : '',
        transfers.length > 0 ? `transfers ${transfers.map((r) => r.id).join(', ')} other amounts` : '',
      ]
        .filter(Boolean)
        .join(' and ') +
      ' (at most 5 of each listed). Correct those rows, then start again',
  );
}

/** Refuses the upgrade if emails are shared ignoring case; `lowerEmail` is the dialect's ASCII lower-casing. */
export async function refuseCaseDuplicates(db: MigrationConnection, lowerEmail: string): Promise<void> {
  const clashes = await db.all(
    `SELECT ${lowerEmail} AS email, count(*) AS n FROM users GROUP BY ${lowerEmail} HAVING count(*) > 1 ORDER BY 1 LIMIT 5`,
  );
  if (clashes.length === 0) return;
  throw new SchemaUpgradeError(
    `emails must be unique ignoring case, but ${clashes.map((c) => `${String(c.email)} (${String(c.n)} users)`).join(', ')} ` +
      'are shared (at most 5 listed). Merge those users or change their emails, then start again',
  );
}
