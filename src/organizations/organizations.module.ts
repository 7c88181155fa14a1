// organizations: organizations (the billing account), members, invitations, roles and the access guard.
import { Module } from '@nestjs/common';
import { UsersModule } from '../auth/users.module.js';
import { MembershipsRepository } from './memberships.repository.js';
import { MembershipCache } from './org-access.js';
import { OrganizationsController } from './organizations.controller.js';
import { OrganizationsRepository } from './organizations.repository.js';
import { OrganizationsService } from './organizations.service.js';

@Module({
  imports: [UsersModule],
  controllers: [OrganizationsController],
  providers: [
    OrganizationsService,
    OrganizationsRepository,
    MembershipsRepository,
    MembershipCache,
  ],
  exports: [OrganizationsService, OrganizationsRepository, MembershipsRepository, MembershipCache],
})
export class OrganizationsModule {}
