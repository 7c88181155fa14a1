import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** The readiness check's view of PostgreSQL. */
@Injectable()
export class HealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Resolves when PostgreSQL answers a query. */
  ping(): Promise<void> {
    return this.prisma.ping();
  }
}
