// Entry point: `npm start` (PORT, DATABASE_FILE, REPORT_ROWS).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { getPool } from 'smartasync';
import { AppModule } from './app.module';
import { ReportsService } from './reports/reports.service';
import { USER_STORE, type Users } from './users/users.token';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  // Workers, their modules and their replicas (one connection each) ready before the first request.
  await getPool().warm(app.get<Users>(USER_STORE), app.get(ReportsService));
  await app.listen(Number(process.env.PORT ?? 3000));
  console.log(`listening on ${await app.getUrl()}`);
}

void main();
