import { Injectable } from '@nestjs/common';

/** Settings from the environment: DATABASE_FILE, REPORT_ROWS. */
@Injectable()
export class ConfigService {
  readonly databaseFile = process.env.DATABASE_FILE ?? 'users.db';
  /** How many rows the activity report walks: its cost. */
  readonly reportRows = Number(process.env.REPORT_ROWS ?? 1_500_000);
}
