import { Type } from 'typebox';
import { NAME_MEANING, NAME_PATTERN } from './db/names.ts';

/**
 * Ids are PostgreSQL `integer`s: 1 to 2^31 - 1. The same range holds on every driver, so an id
 * outside it is a 400 everywhere (not a 404 on SQLite and a 500 on PostgreSQL).
 */
export const MAX_ID = 2_147_483_647;
export const Id = Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'From 1 to 2147483647' });
export const IdParams = Type.Object({ id: Id });

/**
 * Money is an integer number of minor units (cents), and every balance and sum must stay exact
 * in a JavaScript number: at most 2^53 - 1. Larger values would be silently rounded (a balance
 * of 9007199254740993 read back as ...992), and a REAL like 1e300 would let transfers create
 * money. The database enforces the same bounds.
 */
export const MAX_MONEY = Number.MAX_SAFE_INTEGER;

export { NAME_PATTERN } from './db/names.ts';
/** Email addresses are printable ASCII without spaces (the email format alone allows quoted control characters). */
export const EMAIL_PATTERN = '^[\\x21-\\x7E]+$';

/** What a failed pattern means, for the 400's detail. */
export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  [NAME_PATTERN]: NAME_MEANING,
  [EMAIL_PATTERN]: 'must be printable ASCII without spaces',
};

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: NAME_PATTERN });

export const NoContent = Type.Null({ description: 'No content' });

export const Problem = Type.Object({ detail: Type.String() }, { description: 'What went wrong' });

export const UserInput = Type.Object({
  name: Name,
  email: Type.String({
    format: 'email',
    maxLength: 320,
    pattern: EMAIL_PATTERN,
    description: 'Unique ignoring ASCII case: Case@X.com and case@x.com are the same address',
  }),
});
export const User = Type.Object({ id: Id, name: Type.String(), email: Type.String() });

const Money = Type.Integer({ minimum: 0, maximum: MAX_MONEY, description: 'In minor units (cents), at most 2^53 - 1' });
export const AccountInput = Type.Object({ owner: Name, balance: Money });
export const Account = Type.Object({ id: Id, owner: Type.String(), balance: Money });

const Amount = Type.Integer({
  minimum: 1,
  maximum: MAX_MONEY,
  description: 'In minor units (cents), at most 2^53 - 1',
});
export const TransferInput = Type.Object({ from: Id, to: Id, amount: Amount });
export const Transfer = Type.Object({
  id: Id,
  from: Id,
  to: Id,
  amount: Amount,
  createdAt: Type.String({ format: 'date-time' }),
});

const Count = Type.Integer({ minimum: 0 });
export const UsersReport = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  users: Count,
  domains: Type.Array(Type.Object({ domain: Type.String(), users: Count })),
  accounts: Type.Object({ count: Count, total: Money, min: Money, max: Money }),
  transfers: Type.Object({
    count: Count,
    volume: Type.String({
      pattern: '^(0|[1-9][0-9]*)$',
      description: 'Sum of all amounts ever moved, as exact decimal text: it is unbounded',
    }),
  }),
  text: Type.String(),
  signature: Type.String(),
});

/** `/health`: liveness, answered on the event loop without asking the database. */
export const Health = Type.Object({ status: Type.Literal('ok') });
/** `/ready`: the database answered a query through a worker in time. */
export const Ready = Type.Object({ status: Type.Literal('ready'), database: Type.Literal('ok') });
