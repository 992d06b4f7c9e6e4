import { Controller, Get } from '@nestjs/common';
import type { Report } from './activity-report';
import { ReportsService } from './reports.service';

@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  // The heavy route: a synchronous scan that takes hundreds of milliseconds, on a worker.
  @Get('activity')
  activity(): Promise<Report> {
    return this.reports.activity();
  }
}
