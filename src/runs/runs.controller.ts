import { Controller, Get, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { DeploymentParams, type DeploymentRefs } from '../common/route-params.js';
import { ZodBody, ZodHeader, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { UsageLedgerRepository } from '../billing/usage-ledger.repository.js';
import { UsersRepository } from '../auth/users.repository.js';
import type { Run } from '../generated/prisma/client.js';
import {
  presentLogLine,
  presentRun,
  presentRunRow,
  presentRunWithCredits,
} from './runs.presenter.js';
import { RunsService } from './runs.service.js';
import { RunLogTail, type TailLine } from './run-log-tail.js';
import {
  isFinal,
  createRunBody,
  idempotencyKey,
  listRunsQuery,
  logsQuery,
  runOut,
} from './runs.schemas.js';

const logLineOut = z.object({
  seq: z.number(),
  timestamp: z.string(),
  stream: z.string(),
  line: z.string(),
});

@ApiTags('runs')
@Controller('orgs/:org')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly ledger: UsageLedgerRepository,
    private readonly users: UsersRepository,
    private readonly tail: RunLogTail,
  ) {}

  /** Who started these runs (login and name), by user id. */
  private starters(runs: Run[]) {
    return this.users.profilesById(runs.flatMap((r) => (r.triggeredById ? [r.triggeredById] : [])));
  }

  @Post('projects/:project/deployments/:deployment/runs')
  @RequirePermission('run:write')
  @ApiOperation({ summary: 'Run a schedule or a job now (member). Honours Idempotency-Key.' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeat a request safely: the same key returns the same run',
  })
  @ZodResponse(201, runOut, 'Queued')
  @ZodResponse(
    200,
    runOut,
    'An earlier request with the same Idempotency-Key already created this run',
  )
  async create(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodHeader({ name: 'Idempotency-Key', schema: idempotencyKey }) key: string | undefined,
    @ZodBody(createRunBody, { schedule: 'daily-load' }) body: z.infer<typeof createRunBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { run, created } = await this.runs.createManual(
      scope,
      origin,
      projectRef,
      deploymentRef,
      body,
      key,
    );
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return presentRun(run, await this.starters([run]));
  }

  @Get('runs')
  @ApiOperation({
    summary:
      'Run history, newest first, filterable by project, deployment, schedule, status and time',
  })
  @ZodResponse(200, paginated(runOut), 'A page of runs')
  async list(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listRunsQuery) query: z.infer<typeof listRunsQuery>,
  ) {
    const since =
      query.lookback !== undefined
        ? new Date(Date.now() - query.lookback * 1000)
        : query.since
          ? new Date(query.since)
          : undefined;
    const rows = await this.runs.list(
      scope.orgId,
      {
        projectRef: query.project,
        deploymentRefs: query.deployment?.split(',').filter(Boolean),
        schedule: query.schedule,
        schedulePrefix: query.schedule_prefix,
        scheduleContains: query.schedule_contains,
        statuses: query.status,
        since,
        until: query.until ? new Date(query.until) : undefined,
      },
      query.page_size + 1,
      decodeCursor(query.page_token),
    );
    return toPage(
      rows,
      query.page_size,
      (r) => ({ k: r.queuedAt.toISOString(), id: r.id }),
      presentRunRow,
    );
  }

  @Get('runs/:runId')
  @ApiOperation({
    summary:
      'One run, with where its time went (queued, admitted, started, pipeline started, finished)',
  })
  @ZodResponse(200, runOut, 'The run')
  async get(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('runId', z.uuid()) runId: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    const [run, usage] = await Promise.all([
      this.runs.get(scope.orgId, runId),
      this.ledger.forRun(scope.orgId, runId),
    ]);
    return presentRunWithCredits(run, usage, await this.starters([run]));
  }

  @Post('runs/:runId/cancel')
  @RequirePermission('run:write')
  @ApiOperation({
    summary: 'Cancel a run in any non-final state; stops its process or Kubernetes Job (member)',
  })
  @ZodResponse(201, runOut, 'Cancelled, or cancel requested')
  async cancel(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('runId', z.uuid()) runId: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ) {
    const run = await this.runs.cancel(scope, origin, runId);
    return presentRun(run, await this.starters([run]));
  }

  @Post('runs/:runId/retry')
  @RequirePermission('run:write')
  @ApiOperation({ summary: 'Run a finished run again at the deployment’s current commit (member)' })
  @ZodResponse(201, runOut, 'Queued')
  async retry(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('runId', z.uuid()) runId: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ) {
    const run = await this.runs.retry(scope, origin, runId);
    return presentRun(run, await this.starters([run]));
  }

  @Get('runs/:runId/logs')
  @ApiOperation({ summary: 'Log lines in order, page by page (`after_seq`), secrets masked' })
  @ZodResponse(
    200,
    z.object({ lines: z.array(logLineOut), next_after_seq: z.number(), finished: z.boolean() }),
    'Lines',
  )
  async logs(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('runId', z.uuid()) runId: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(logsQuery) query: z.infer<typeof logsQuery>,
  ) {
    const run = await this.runs.get(scope.orgId, runId);
    const lines = await this.runs.logLines(scope.orgId, runId, query.after_seq, query.limit);
    return {
      lines: lines.map(presentLogLine),
      next_after_seq: lines.at(-1)?.seq ?? query.after_seq,
      finished: isFinal(run.status),
    };
  }

  @Get('runs/:runId/logs/stream')
  @ApiOperation({
    summary:
      'Follow a run’s log live (Server-Sent Events: `line` events, then `end` with the final status)',
  })
  @ApiProduces('text/event-stream')
  async stream(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('runId', z.uuid()) runId: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(z.object({ after_seq: z.coerce.number().int().min(0).default(0) }))
    query: { after_seq: number },
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { orgId } = scope;
    await this.runs.get(orgId, runId); // 404 before the stream starts
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': String(reply.request.id),
    });
    let closed = false;
    raw.on('close', () => (closed = true));
    const event = (line: TailLine) =>
      raw.write(`id: ${line.seq}\nevent: line\ndata: ${JSON.stringify(presentLogLine(line))}\n\n`);
    await this.tail.follow(orgId, runId, query.after_seq, {
      line: event,
      keepAlive: () => raw.write(': keep-alive\n\n'),
      end: (run) => raw.write(`event: end\ndata: ${JSON.stringify(presentRun(run))}\n\n`),
      closed: () => closed,
      onClose: (listener) => raw.on('close', listener),
    });
    raw.end();
  }
}
