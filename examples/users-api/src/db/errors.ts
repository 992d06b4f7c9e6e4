// Domain errors of the data layer. Registered with smartasync so that, thrown on a worker,
// they arrive as the same classes; callers still map on the stable `code`.
import { registerError } from 'smartasync';

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
