import { Type } from 'typebox';

export const Id = Type.Integer({ minimum: 1 });
export const IdParams = Type.Object({ id: Id });

export const NoContent = Type.Null({ description: 'No content' });

export const Problem = Type.Object({ detail: Type.String() }, { description: 'What went wrong' });

export const UserInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ format: 'email', maxLength: 320 }),
});
export const User = Type.Object({ id: Id, name: Type.String(), email: Type.String() });

const Money = Type.Integer({ minimum: 0, description: 'In minor units (cents)' });
export const AccountInput = Type.Object({ owner: Type.String({ minLength: 1, maxLength: 200 }), balance: Money });
export const Account = Type.Object({ id: Id, owner: Type.String(), balance: Money });

export const TransferInput = Type.Object({
  from: Id,
  to: Id,
  amount: Type.Integer({ minimum: 1, description: 'In minor units (cents)' }),
});
export const Transfer = Type.Object({
  id: Id,
  from: Id,
  to: Id,
  amount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const UsersReport = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  users: Type.Integer(),
  domains: Type.Array(Type.Object({ domain: Type.String(), users: Type.Integer() })),
  accounts: Type.Object({ count: Type.Integer(), total: Type.Integer(), min: Type.Integer(), max: Type.Integer() }),
  transfers: Type.Object({ count: Type.Integer(), volume: Type.Integer() }),
  text: Type.String(),
  signature: Type.String(),
});

export const Health = Type.Object({ status: Type.Literal('ok') });
