import { offloadable, offload } from 'smartasync';
import { buildReportSync, type Report } from './legacy-reports.ts';

@offloadable                                   // records constructor arguments for the replicas
export class ReportService {
  constructor(private readonly dbFile: string) {}

  @offload                                     // declared async, body synchronous: runs on a worker
  async monthly(month: number): Promise<Report> {
    return buildReportSync(this.dbFile, month);
  }
}
