import { Module } from '@nestjs/common';
import { DeployEvents } from './deploy-events.js';
import { DeploysService } from './deploys.service.js';

/** Deploy requests and events; the API's DeploysController lives in DeploymentsModule to avoid a cycle. */
@Module({ providers: [DeploysService, DeployEvents], exports: [DeploysService, DeployEvents] })
export class DeploysModule {}
