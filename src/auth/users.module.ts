import { Module } from '@nestjs/common';
import { UsersRepository } from './users.repository.js';

/** Users (user-level data), for sign-in, invitations and showing who did something. */
@Module({ providers: [UsersRepository], exports: [UsersRepository] })
export class UsersModule {}
