import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
} from '@nestjs/common';
import type { User } from './user.store';
import { USER_STORE, type Users } from './users.token';

@Controller('users')
export class UsersController {
  constructor(@Inject(USER_STORE) private readonly users: Users) {}

  @Post()
  add(@Body() body: { name?: unknown }): Promise<User> {
    if (typeof body?.name !== 'string' || body.name.length === 0)
      throw new BadRequestException('name must be a non-empty string');
    return this.users.add(body.name); // on a worker
  }

  @Get(':id')
  async get(@Param('id', ParseIntPipe) id: number): Promise<User> {
    const user = await this.users.get(id); // on a worker
    if (!user) throw new NotFoundException(`no user ${id}`);
    return user;
  }
}
