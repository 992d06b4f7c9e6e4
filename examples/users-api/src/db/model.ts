// What both data layers share: the records, the options, the rules a write must pass before it
// reaches the database, and the report's text. The synchronous DatabaseManager (./manager.ts)
// and the async one (./async-manager.ts) differ only in how they talk to their driver.
import type { Row } from './drivers/driver.ts';
import type { DataLogOptions } from './log.ts';
import {
  AccountNotFoundError,
  BalanceLimitError,
  InsufficientFundsError,
  InvalidNameError,
  InvalidTransferError,
} from './errors.ts';
import { isName } from './names.ts';

export interface User {
  id: number;
  name: string;
  email: string;
}
export interface UserInput {
  name: string;
  email: string;
}
export interface Account {
  id: number;
  owner: string;
  /** In minor units (cents): integers keep sums exact. */
  balance: number;
}
export interface AccountInput {
  owner: string;
  balance: number;
}
export interface TransferInput {
  from: number;
  to: number;
  amount: number;
}
export interface Transfer extends TransferInput {
  id: number;
  createdAt: string;
}
export interface UsersReport {
  generatedAt: string;
  users: number;
  domains: { domain: string; users: number }[];
  accounts: { count: number; total: number; min: number; max: number };
  /** volume: the sum of all amounts ever moved, as exact decimal text (it has no bound). */
  transfers: { count: number; volume: string };
  text: string;
  signature: string;
}

export interface ManagerOptions {
  /**
   * PBKDF2 iterations used to sign a report: the deliberately heavy, CPU-bound part of the
   * legacy report. About 10 ms per 100 000 on a current x86 core.
   */
  reportCost?: number;
  /**
   * How long one statement may wait on the database, in ms (default 5000): SQLite's busy
   * timeout, PostgreSQL's statement_timeout, MariaDB's max_statement_time and lock wait. On a
   * server, connecting is bounded by it too, and a server that stops answering by it plus one
   * second.
   */
  databaseTimeoutMs?: number;
  /**
   * Connections in an async driver's pool (mysql2, pg), in this process; default 10. The
   * synchronous drivers have one connection per thread instead (see the README's deployment notes).
   */
  poolSize?: number;
  /**
   * What the synchronous data layer logs, from the thread it runs on (./log.ts): slow statements
   * and transactions rolled back, each line with the request's `reqId`. Unset (the CLI, tests):
   * nothing.
   */
  log?: DataLogOptions;
}

export const DEFAULT_REPORT_COST = 400_000;
export const DEFAULT_POOL_SIZE = 10;

/** Ids are PostgreSQL integers on every driver (see Id in ../schemas.ts). */
export const MAX_ID = 2_147_483_647;
/** Balances, amounts and their total stay exact in a JavaScript number (see MAX_MONEY in ../schemas.ts). */
export const MAX_MONEY = Number.MAX_SAFE_INTEGER;

/** An id no row can have: answered as "not found" without asking the database, on every driver. */
export const outOfRange = (id: number) => !Number.isSafeInteger(id) || id < 1 || id > MAX_ID;
export const isMoney = (value: number) => Number.isSafeInteger(value) && value >= 0 && value <= MAX_MONEY;

export const toUser = (row: Row): User => ({
  id: Number(row.id),
  name: row.name as string,
  email: row.email as string,
});
export const toAccount = (row: Row): Account => ({
  id: Number(row.id),
  owner: row.owner as string,
  balance: row.balance as number,
});

/**
 * The name rule (./names.ts), checked here too and not only by the HTTP schema and the CLI: the
 * databases cannot express it (SQLite and PostgreSQL have no Unicode-category patterns).
 */
export function checkName(field: 'name' | 'owner', name: string): void {
  if (!isName(name)) throw new InvalidNameError(field, name);
}

/** The checks a transfer passes before it touches the database. */
export function checkTransfer({ from, to, amount }: TransferInput): void {
  if (from === to) throw new InvalidTransferError('Cannot transfer from an account to itself');
  if (!isMoney(amount) || amount === 0) {
    throw new InvalidTransferError(`Amount must be an integer from 1 to ${MAX_MONEY}`);
  }
  if (outOfRange(from)) throw new AccountNotFoundError(from);
  if (outOfRange(to)) throw new AccountNotFoundError(to);
}

/** The checks a transfer passes once both accounts are locked: `rows` are their id and balance. */
export function checkLockedTransfer({ from, to, amount }: TransferInput, rows: Row[]): void {
  const source = rows.find((row) => Number(row.id) === from);
  if (!source) throw new AccountNotFoundError(from);
  const target = rows.find((row) => Number(row.id) === to);
  if (!target) throw new AccountNotFoundError(to);
  const balance = source.balance as number;
  if (balance < amount) throw new InsufficientFundsError(from, balance, amount);
  // Cannot happen while the total stays within MAX_MONEY (createAccount), but a database
  // filled by an earlier version may hold more.
  if ((target.balance as number) > MAX_MONEY - amount) {
    throw new BalanceLimitError(`Account ${to} would hold ${BigInt(target.balance as number) + BigInt(amount)}`);
  }
}

/** The opening-balance rule: refuses what would take the total of all balances past MAX_MONEY. */
export function checkOpening(currentTotal: string, balance: number): void {
  const total = BigInt(currentTotal) + BigInt(balance);
  if (total > BigInt(MAX_MONEY)) {
    throw new BalanceLimitError(`Opening this account would bring the total of all balances to ${total}`);
  }
}

/** The salt of the report's signature: the signature proves the text came from this app. */
export const REPORT_SALT = 'users-report';

/**
 * The report but its signature, from the users and two aggregate rows: `accounts` (count, total
 * as text, min, max) and `transfers` (count, and the volume in two parts as text, high millions
 * and low remainder, so that no database sum can overflow).
 */
export function buildReport(users: User[], accounts: Row, transfers: Row): Omit<UsersReport, 'signature'> {
  const total = BigInt(accounts.total as string);
  if (total > BigInt(MAX_MONEY)) throw new BalanceLimitError(`The total of all balances is ${total}`);
  const volume = (BigInt(transfers.high as string) * 1_000_000n + BigInt(transfers.low as string)).toString();
  const byDomain = new Map<string, number>();
  for (const { email } of users) {
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    byDomain.set(domain, (byDomain.get(domain) ?? 0) + 1);
  }
  const domains = [...byDomain]
    .map(([domain, count]) => ({ domain, users: count }))
    .sort((a, b) => b.users - a.users || a.domain.localeCompare(b.domain));
  const generatedAt = new Date().toISOString();
  const text = [
    `USERS REPORT ${generatedAt}`,
    `${'DOMAIN'.padEnd(40)}${'USERS'.padStart(8)}`,
    ...domains.map((d) => `${d.domain.padEnd(40)}${String(d.users).padStart(8)}`),
    `TOTAL USERS ${users.length}; ACCOUNTS ${accounts.count} HOLDING ${accounts.total}; TRANSFERS ${transfers.count} MOVING ${volume}`,
  ].join('\n');
  return {
    generatedAt,
    users: users.length,
    domains,
    accounts: {
      count: Number(accounts.count),
      total: Number(total),
      min: Number(accounts.min),
      max: Number(accounts.max),
    },
    transfers: { count: Number(transfers.count), volume },
    text,
  };
}
