/**
 * The HTTP ceilings, in their own process: a bare NestJS-on-Fastify app. Prints its port.
 *   node bare-api.js                                  GET /bare: a constant object.
 *   node bare-api.js <databaseUrl> <orgId> <projectId>
 *     also GET /bare/runs and GET /bare/deployment: the API's two hot reads through the same
 *     repositories (the same SQL on the same pool), with none of the API's stack around them:
 *     no authentication, rate limit, organization access, presenter, logging or metrics.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../src/config/app-config.js';
import { PrismaService } from '../src/database/prisma.service.js';
import type { OrgId } from '../src/database/org-id.js';
import { DeploymentsRepository } from '../src/deployments/deployments.repository.js';
import { RunsRepository } from '../src/runs/runs.repository.js';

const [databaseUrl, orgId = '', projectId = ''] = process.argv.slice(2);
const prisma = databaseUrl
  ? new PrismaService(
      loadConfig({ ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }),
    )
  : undefined;

@Controller()
class BareController {
  private readonly runs = prisma && new RunsRepository(prisma);
  private readonly deployments = prisma && new DeploymentsRepository(prisma);

  @Get('bare')
  bare() {
    return { id: '00000000-0000-0000-0000-000000000000', name: 'bare', status: 'ready' };
  }

  @Get('bare/runs')
  async listRuns() {
    return { items: await this.runs?.list(orgId as OrgId, {}, 51) };
  }

  @Get('bare/deployment')
  async deployment() {
    return (await this.deployments?.viewInProject(orgId as OrgId, projectId, 'd'))?.deployment;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

void main();
