// audit: who changed what, when and from where (written by services in the change's transaction; read by admins).
import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository.js';

/** Audit events: written by the services that make changes, in the change's transaction. */
@Global()
@Module({ providers: [AuditRepository], exports: [AuditRepository] })
export class AuditModule {}
