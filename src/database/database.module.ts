// database: the one PrismaClient, OrgId, transactions, the cross-tenant SystemRepository, the offline migrator.
import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';
import { SystemRepository } from './system.repository.js';
import { Transactions } from './transactions.js';

/** The database: the one PrismaClient, transactions, and the cross-tenant SystemRepository. */
@Global()
@Module({
  providers: [PrismaService, Transactions, SystemRepository],
  exports: [PrismaService, Transactions, SystemRepository],
})
export class DatabaseModule {}
