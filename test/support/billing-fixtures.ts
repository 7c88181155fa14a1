/** An organization with usage in the ledger, priced the way the worker prices finished runs. */
import type { PrismaService } from '../../src/database/prisma.service.js';
import type { OrgId } from '../../src/database/org-id.js';
import { Transactions } from '../../src/database/transactions.js';
import { UsageLedgerRepository } from '../../src/billing/usage-ledger.repository.js';
import { billingPeriodOf } from '../../src/billing/pricing.js';
import type { TestApp } from './test-app.js';

export interface UsageOrg {
  orgId: OrgId;
  slug: string;
  analytics: { projectId: string; deploymentId: string; scheduleId: string };
  marketing: { projectId: string; deploymentId: string; scheduleId: string };
}

/** The period before the one `at` falls in. */
export function previousPeriod(at = new Date()): string {
  return billingPeriodOf(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 15)));
}

async function project(
  prisma: PrismaService,
  orgId: string,
  name: string,
  schedule: { name: string; interval: string; cron: string },
) {
  const slug = name.toLowerCase();
  const p = await prisma.project.create({
    data: { organizationId: orgId, name, slug, repository: `acme/${slug}`, rootPath: '.' },
  });
  const d = await prisma.deployment.create({
    data: {
      organizationId: orgId,
      projectId: p.id,
      name: 'prod',
      slug: 'prod',
      environment: 'prod',
      branch: 'main',
      status: 'ready',
      meltanoJobs: { load: ['tap-x target-y'] },
      deployedCommitSha: 'd'.repeat(40),
      meltanoEnvironments: ['prod'],
    },
  });
  const s = await prisma.schedule.create({
    data: { organizationId: orgId, deploymentId: d.id, job: 'load', ...schedule },
  });
  return { projectId: p.id, deploymentId: d.id, scheduleId: s.id };
}

/**
 * An organization owned by `ownerId` with two projects: Analytics (a daily
 * schedule) and Marketing (an hourly one, 24 fires a day: the frequent price).
 */
export async function createUsageOrg(
  prisma: PrismaService,
  ownerId: string,
  slug: string,
): Promise<UsageOrg> {
  const org = await prisma.organization.create({
    data: {
      name: `${slug} Inc`,
      slug,
      billingAccountNumber: `MC-${String(Date.now()).slice(-10)}`,
    },
  });
  await prisma.membership.create({
    data: { organizationId: org.id, userId: ownerId, role: 'owner' },
  });
  return {
    orgId: org.id as OrgId,
    slug,
    analytics: await project(prisma, org.id, 'Analytics', {
      name: 'daily load',
      interval: '@daily',
      cron: '0 0 * * *',
    }),
    marketing: await project(prisma, org.id, 'Marketing', {
      name: 'hourly sync',
      interval: '@hourly',
      cron: '0 * * * *',
    }),
  };
}

/** A run that finished with a pipeline of `minutes`, written to the ledger as the worker does. */
export async function finishRun(
  t: TestApp,
  orgId: OrgId,
  where: { deploymentId: string; scheduleId?: string; target: string },
  minutes: number,
  finishedAt = new Date(),
) {
  const run = await t.prisma.run.create({
    data: {
      organizationId: orgId,
      deploymentId: where.deploymentId,
      scheduleId: where.scheduleId ?? null,
      target: where.target,
      jobName: 'load',
      trigger: where.scheduleId ? 'schedule' : 'manual',
      status: 'succeeded',
      timeoutSeconds: 3600,
      queuedAt: new Date(finishedAt.getTime() - minutes * 60_000 - 120_000),
      startedAt: new Date(finishedAt.getTime() - minutes * 60_000 - 90_000),
      pipelineStartedAt: new Date(finishedAt.getTime() - minutes * 60_000),
      finishedAt,
    },
  });
  const ledger = t.app.get(UsageLedgerRepository);
  const row = await t.app.get(Transactions).run((tx) => ledger.recordForRun(orgId, run, tx));
  return { run, row: row! };
}

/**
 * This period: Analytics 3.5 credits in 2 runs (the daily schedule, 3 minutes: 1;
 * by hand, 25 minutes: 1 + 15 × 0.1 = 2.5), Marketing 1.0 in 2 runs (hourly,
 * 2 minutes each: 0.5 + 0.5); 4.5 in all. Last period: Analytics 1.0.
 */
export async function seedUsage(t: TestApp, org: UsageOrg) {
  const a = org.analytics;
  const m = org.marketing;
  const runs = [
    await finishRun(t, org.orgId, { ...a, target: 'daily load' }, 3),
    await finishRun(t, org.orgId, { deploymentId: a.deploymentId, target: 'load' }, 25),
    await finishRun(t, org.orgId, { ...m, target: 'hourly sync' }, 2),
    await finishRun(t, org.orgId, { ...m, target: 'hourly sync' }, 2),
  ];
  const now = new Date();
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
  await finishRun(t, org.orgId, { deploymentId: a.deploymentId, target: 'load' }, 1, last);
  return runs;
}
