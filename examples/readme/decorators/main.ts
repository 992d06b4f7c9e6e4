// Runs the decorated service (node --import tsx decorators/main.ts): decorators need a compiler.
import { ReportService } from './report-service.ts';

const report = await new ReportService('users.db').monthly(3);
console.log(report.month, report.users, report.threadId !== 0 ? 'on a worker' : 'on the main thread');
