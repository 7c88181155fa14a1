// auth: GitHub sign-in, sessions and CSRF, API tokens, CLI browser sign-in, rate limits; users (users.module.ts).
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { GithubStrategy, SignedStateStore } from './github.strategy.js';
import { RateLimiter } from './rate-limiter.js';
import { OrgAccessGuard } from '../organizations/org-access.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { SessionsRepository } from './sessions.repository.js';
import { TokensRepository } from './tokens.repository.js';
import { UsersModule } from './users.module.js';

@Module({
  imports: [PassportModule.register({ session: false }), UsersModule, OrganizationsModule],
  controllers: [AuthController],
  providers: [
    AuthService,
    SessionsRepository,
    TokensRepository,
    RateLimiter,
    {
      provide: SignedStateStore,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new SignedStateStore(c.auth.sessionSecret),
    },
    // The strategy registers itself with passport only when GitHub sign-in is configured.
    {
      provide: GithubStrategy,
      inject: [AppConfig, SignedStateStore],
      useFactory: (c: AppConfig, s: SignedStateStore) =>
        c.auth.githubOAuth ? new GithubStrategy(c, s) : null,
    },
    // Order matters: who you are, then what you may do in the organization.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: OrgAccessGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
