import { Injectable } from '@nestjs/common';
import { offload, offloadable } from 'smartasync';
import { ConfigService } from '../config.service';
import { DatabaseService } from '../database.service';
import { activityReport, type Report } from './activity-report';

@Injectable()
// Nest injects a DatabaseService (an open connection) that cannot cross threads: each worker
// builds its own ReportsService, with its own connection, from this factory.
@offloadable({ replica: () => new ReportsService(new DatabaseService(new ConfigService()), new ConfigService()) })
export class ReportsService {
  constructor(
    private readonly database: DatabaseService,
    private readonly config: ConfigService,
  ) {}

  @offload // declared async, body synchronous: runs on a worker
  async activity(): Promise<Report> {
    return activityReport(this.database.db, this.config.reportRows);
  }
}
