import { Module } from '@nestjs/common';
import { ConfigService } from '../config.service';
import { SmartUserStore } from './user.store';
import { UsersController } from './users.controller';
import { USER_STORE, type Users } from './users.token';

@Module({
  controllers: [UsersController],
  providers: [
    {
      provide: USER_STORE,
      // The constructor runs here (the table exists before the first request); each worker
      // builds its replica from the same argument, a file name, on its first call.
      useFactory: (config: ConfigService): Users => new SmartUserStore(config.databaseFile),
      inject: [ConfigService],
    },
  ],
  exports: [USER_STORE],
})
export class UsersModule {}
