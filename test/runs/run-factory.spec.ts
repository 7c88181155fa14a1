import 'reflect-metadata';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import type { Deployment, Organization, Run } from '../../src/generated/prisma/client.js';
import { orgIdFromJob } from '../../src/database/org-id.js';
import { RunFactory, timeoutFor } from '../../src/runs/run-factory.js';
import type { NewRun, RunsRepository } from '../../src/runs/runs.repository.js';
import { RunsCoreModule, RunsWorkerModule } from '../../src/runs/runs.module.js';
import { SchedulesWorkerModule } from '../../src/schedules/schedules-worker.module.js';
import type { ScheduleWithContext } from '../../src/schedules/schedule-timers.repository.js';

const orgId = orgIdFromJob({ organizationId: '00000000-0000-4000-8000-000000000001' });
const organization = { id: orgId, maxRunTimeoutSeconds: 600 } as unknown as Organization;
const deployment = {
  id: 'dep',
  deployedCommitSha: 'c'.repeat(40),
  runTimeoutSeconds: 3600,
} as Deployment;
const schedule = {
  id: 'sch',
  deploymentId: 'dep',
  name: 'daily load',
  job: 'load',
  deployment: { ...deployment, organization },
} as unknown as ScheduleWithContext;

/** Every run is created by RunFactory: what each kind of run is made of. */
describe('RunFactory', () => {
  const created: { orgId: string; data: NewRun; tx: unknown }[] = [];
  const runs = {
    create: async (org: string, data: NewRun, tx?: unknown) => {
      created.push({ orgId: org, data, tx });
      return { id: 'new', organizationId: org, ...data } as Run;
    },
  } as unknown as RunsRepository;
  const factory = new RunFactory(runs);
  const last = () => created.at(-1)!;
  beforeEach(() => (created.length = 0));

  it('caps the timeout at the organization’s maximum', () => {
    expect(timeoutFor(deployment, organization)).toBe(600);
    expect(timeoutFor({ ...deployment, runTimeoutSeconds: 60 }, organization)).toBe(60);
  });

  it('creates manual runs of a schedule or a job, in the caller’s transaction', async () => {
    const tx = { opaque: true } as never;
    await factory.manual(
      orgId,
      {
        deployment,
        organization,
        schedule,
        jobName: 'load',
        trigger: 'api',
        triggeredById: 'user',
        idempotencyKey: 'k1',
      },
      tx,
    );
    expect(last()).toEqual({
      orgId,
      tx,
      data: {
        deploymentId: 'dep',
        scheduleId: 'sch',
        target: 'daily load',
        jobName: 'load',
        trigger: 'api',
        commitSha: 'c'.repeat(40),
        timeoutSeconds: 600,
        idempotencyKey: 'k1',
        triggeredById: 'user',
      },
    });
    await factory.manual(orgId, {
      deployment,
      organization,
      schedule: null,
      jobName: 'load',
      trigger: 'manual',
      triggeredById: 'user',
      idempotencyKey: null,
    });
    expect(last().data).toMatchObject({ scheduleId: null, target: 'load', trigger: 'manual' });
  });

  it('creates a retry as the next attempt at the deployment’s current commit', async () => {
    const previous = {
      id: 'old',
      deploymentId: 'dep',
      scheduleId: null,
      target: 'load',
      jobName: 'load',
      attempt: 2,
      commitSha: 'a'.repeat(40),
      deployment,
    } as unknown as Run & { deployment: Deployment };
    await factory.retry(orgId, previous, organization, 'user');
    expect(last().data).toMatchObject({
      trigger: 'retry',
      attempt: 3,
      retryOfId: 'old',
      commitSha: 'c'.repeat(40),
      timeoutSeconds: 600,
      triggeredById: 'user',
    });
  });

  it('creates tick runs and skipped ticks of a schedule', async () => {
    const tickAt = new Date('2026-01-01T00:00:00Z');
    await factory.tick(orgId, schedule, tickAt, 'late: missed');
    expect(last().data).toEqual({
      deploymentId: 'dep',
      scheduleId: 'sch',
      target: 'daily load',
      jobName: 'load',
      trigger: 'schedule',
      tickAt,
      commitSha: 'c'.repeat(40),
      timeoutSeconds: 600,
      waitingReason: 'late: missed',
    });
    await factory.skipped(orgId, schedule, tickAt, 'missed: no worker');
    expect(last().data).toMatchObject({
      trigger: 'schedule',
      tickAt,
      status: 'skipped',
      statusReason: 'missed: no worker',
      finishedAt: expect.any(Date),
    });
  });

  it('takes an OrgId: a plain string does not compile', () => {
    // @ts-expect-error a plain string is not an OrgId
    void factory.tick('some-org', schedule, new Date(), null).catch(() => undefined);
  });
});

describe('worker-side modules', () => {
  it('declare providers only: no HTTP controllers', () => {
    for (const module of [RunsCoreModule, RunsWorkerModule, SchedulesWorkerModule]) {
      expect(Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, module) ?? []).toEqual([]);
    }
  });
});
