// The manual build's worker module, the way piscina users write one: a named export per query,
// each on the worker's own connection, a module singleton opened on first use and configured
// through workerData. piscina picks the export by the run's `name` option.
import { workerData } from 'piscina';
import { DatabaseManager } from 'users-api/manager';

let db: DatabaseManager | undefined;

function connection(): DatabaseManager {
  const { databaseUrl, reportCost } = workerData as { databaseUrl: string; reportCost?: number };
  db ??= new DatabaseManager(databaseUrl, { reportCost });
  return db;
}

type Args<M extends keyof DatabaseManager> = DatabaseManager[M] extends (...a: infer A) => unknown ? A : never;

export const getAllUsers = (args: Args<'getAllUsers'>) => connection().getAllUsers(...args);
export const getUser = (args: Args<'getUser'>) => connection().getUser(...args);
export const createUser = (args: Args<'createUser'>) => connection().createUser(...args);
export const updateUser = (args: Args<'updateUser'>) => connection().updateUser(...args);
export const deleteUser = (args: Args<'deleteUser'>) => connection().deleteUser(...args);
export const getAllAccounts = (args: Args<'getAllAccounts'>) => connection().getAllAccounts(...args);
export const getAccount = (args: Args<'getAccount'>) => connection().getAccount(...args);
export const createAccount = (args: Args<'createAccount'>) => connection().createAccount(...args);
export const transfer = (args: Args<'transfer'>) => connection().transfer(...args);
export const usersReport = (args: Args<'usersReport'>) => connection().usersReport(...args);
