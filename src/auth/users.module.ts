import { Module } from '@nestjs/common';
import { AccessMarks } from './access-marks.js';
import { UsersRepository } from './users.repository.js';

/**
 * Users (user-level data), for sign-in, invitations and showing who did something; and the
 * marks that tell every API process a user's credential or memberships changed.
 */
@Module({ providers: [UsersRepository, AccessMarks], exports: [UsersRepository, AccessMarks] })
export class UsersModule {}
