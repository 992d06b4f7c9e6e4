import { Module } from '@nestjs/common';
import { CoreModule } from './core.module';
import { ReportsModule } from './reports/reports.module';
import { UsersModule } from './users/users.module';

@Module({ imports: [CoreModule, UsersModule, ReportsModule] })
export class AppModule {}
