import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import Database from 'better-sqlite3';
import { ConfigService } from './config.service';

/** One better-sqlite3 connection: an open native handle, which cannot cross threads. */
@Injectable()
export class DatabaseService implements OnModuleDestroy {
  readonly db: Database.Database;

  constructor(config: ConfigService) {
    this.db = new Database(config.databaseFile);
    this.db.pragma('journal_mode = WAL'); // workers read while another connection writes
    this.db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  }

  onModuleDestroy(): void {
    this.db.close();
  }
}
