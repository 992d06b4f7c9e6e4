// Domain errors of the data layer. Registered with smartasync so that, thrown on a worker,
// they arrive as the same classes; callers still map on the stable `code`.
import { registerError } from 'smartasync';
import { NAME_MEANING } from './names.ts';

export class DomainError extends Error {
  code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class EmailTakenError extends DomainError {
  constructor(email: string) {
    super('EMAIL_TAKEN', `A user with email ${email} already exists`);
  }
}

export class AccountNotFoundError extends DomainError {
  constructor(id: number) {
    super('ACCOUNT_NOT_FOUND', `Account ${id} not found`);
  }
}

export class InsufficientFundsError extends DomainError {
  constructor(id: number, balance: number, amount: number) {
    super('INSUFFICIENT_FUNDS', `Insufficient funds in account ${id}: balance ${balance}, transfer amount ${amount}`);
  }
}

export class InvalidTransferError extends DomainError {
  constructor(message: string) {
    super('INVALID_TRANSFER', message);
  }
}

/** An account the data layer refuses to open as given (a balance that is not exact money). */
export class InvalidAccountError extends DomainError {
  constructor(message: string) {
    super('INVALID_ACCOUNT', message);
  }
}

/** A balance, or the total of all balances, would pass what a JavaScript number holds exactly. */
export class BalanceLimitError extends DomainError {
  constructor(message: string) {
    super(
      'BALANCE_LIMIT',
      `${message}: balances and their total must stay at most 9007199254740991 (2^53 - 1) so that they stay exact`,
    );
  }
}

/** A migration cannot be applied: existing rows break a rule it adds (the message names them), or it failed. */
export class SchemaUpgradeError extends DomainError {
  constructor(problem: string, options?: ErrorOptions) {
    super('SCHEMA_UPGRADE', `The database cannot be brought up to this version's schema: ${problem}.`, options);
  }
}

/** The database's schema is not the one this version works with: newer (refused), or not migrated yet. */
export class SchemaVersionError extends DomainError {
  constructor(problem: string) {
    super('SCHEMA_VERSION', `The database's schema does not match this version of users-api: ${problem}.`);
  }
}

/** A name (a user's, an account owner's) that breaks the rule in ./names.ts. */
export class InvalidNameError extends DomainError {
  constructor(field: string, name: string) {
    // Escaped: the name may draw nothing, or draw as something else.
    const shown = JSON.stringify(name).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
    super('INVALID_NAME', `${field} ${shown} ${NAME_MEANING}`);
  }
}

export class DatabaseUnavailableError extends DomainError {
  constructor(target: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? options.cause.message.trim() : String(options?.cause);
    super('DATABASE_UNAVAILABLE', `Database ${target} is unavailable: ${reason}`, options);
  }
}

registerError(DomainError);
registerError(EmailTakenError);
registerError(AccountNotFoundError);
registerError(InsufficientFundsError);
registerError(InvalidTransferError);
registerError(DatabaseUnavailableError);
registerError(InvalidAccountError);
registerError(BalanceLimitError);
registerError(SchemaUpgradeError);
registerError(SchemaVersionError);
registerError(InvalidNameError);
