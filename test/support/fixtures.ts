import { randomBytes } from 'node:crypto';
import type { PrismaService } from '../../src/database/prisma.service.js';
import type { Prisma } from '../../src/generated/prisma/client.js';
import type { Role } from '../../src/generated/prisma/enums.js';
import { TOKEN_PREFIX, hashToken, visiblePrefix } from '../../src/auth/credentials.js';

export interface TestUser {
  id: string;
  login: string;
  token: string;
  bearer: string;
}

const suffix = (): string => randomBytes(3).toString('hex');

/** A user with a personal API token, written straight to the database (the auth tests cover the real flows). */
export async function createUserWithToken(
  prisma: PrismaService,
  login = `user-${suffix()}`,
): Promise<TestUser> {
  const user = await prisma.user.create({ data: { login, name: login } });
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await prisma.apiToken.create({
    data: {
      userId: user.id,
      name: 'test',
      prefix: visiblePrefix(token),
      tokenHash: hashToken(token),
    },
  });
  return { id: user.id, login, token, bearer: `Bearer ${token}` };
}

export type RoleUsers = Record<Role | 'outsider', TestUser>;

export async function createRoleUsers(prisma: PrismaService): Promise<RoleUsers> {
  return {
    owner: await createUserWithToken(prisma, `owner-${suffix()}`),
    admin: await createUserWithToken(prisma, `admin-${suffix()}`),
    member: await createUserWithToken(prisma, `member-${suffix()}`),
    viewer: await createUserWithToken(prisma, `viewer-${suffix()}`),
    outsider: await createUserWithToken(prisma, `outsider-${suffix()}`),
  };
}

export interface SeededOrg {
  orgId: string;
  orgSlug: string;
  projectSlug: string;
  projectId: string;
  deploymentSlug: string;
  deploymentId: string;
  scheduleName: string;
  scheduleId: string;
  invalidScheduleName: string;
  /** A plain member nobody's test acts as, to be changed or removed. */
  targetUserId: string;
  invitationId: string;
  /** A finished run (with a log line) and a queued one. */
  finishedRunId: string;
  queuedRunId: string;
  deployId: string;
}

/** A deployment named `prod` (environment prod, branch main) of the project, with `data` on top. */
/** The valid `daily load` schedule (the `load` job, every day at midnight) of a seeded deployment. */
export const createDailyLoadSchedule = (
  prisma: PrismaService,
  organizationId: string,
  deploymentId: string,
) =>
  prisma.schedule.create({
    data: {
      organizationId,
      deploymentId,
      name: 'daily load',
      interval: '@daily',
      cron: '0 0 * * *',
      job: 'load',
    },
  });

export const createProdDeployment = (
  prisma: PrismaService,
  organizationId: string,
  projectId: string,
  data: Partial<Prisma.DeploymentUncheckedCreateInput> = {},
) =>
  prisma.deployment.create({
    data: {
      organizationId,
      projectId,
      name: 'prod',
      slug: 'prod',
      environment: 'prod',
      branch: 'main',
      ...data,
    },
  });

/** An organization where each role user holds that role, with a project, deployment and schedules. */
export async function seedOrg(prisma: PrismaService, users: RoleUsers): Promise<SeededOrg> {
  const slug = `org-${suffix()}`;
  const org = await prisma.organization.create({
    data: { name: slug, slug, billingAccountNumber: `MC-T${suffix()}${suffix()}` },
  });
  for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
    await prisma.membership.create({
      data: { organizationId: org.id, userId: users[role].id, role },
    });
  }
  const target = await prisma.user.create({ data: { login: `target-${suffix()}` } });
  await prisma.membership.create({
    data: { organizationId: org.id, userId: target.id, role: 'member' },
  });
  const invitation = await prisma.invitation.create({
    data: { organizationId: org.id, githubLogin: `invitee-${suffix()}`, role: 'viewer' },
  });
  const project = await prisma.project.create({
    data: {
      organizationId: org.id,
      name: 'Analytics',
      slug: 'analytics',
      repository: 'acme/analytics',
      rootPath: 'data',
    },
  });
  const deployment = await createProdDeployment(prisma, org.id, project.id, {
    status: 'ready',
    meltanoJobs: { load: ['tap-x target-y'] },
    deployedCommitSha: 'd'.repeat(40),
    meltanoEnvironments: ['dev', 'prod'],
  });
  const schedule = await createDailyLoadSchedule(prisma, org.id, deployment.id);
  await prisma.schedule.create({
    data: {
      organizationId: org.id,
      deploymentId: deployment.id,
      name: 'broken',
      // Written after 'daily load' in the seeded meltano.yml.
      position: 1,
      interval: '0 0 * * * *',
      invalidReason: "Schedule 'broken': interval '0 0 * * * *' has 6 fields",
    },
  });
  const finished = await prisma.run.create({
    data: {
      organizationId: org.id,
      deploymentId: deployment.id,
      scheduleId: schedule.id,
      target: schedule.name,
      jobName: 'load',
      trigger: 'schedule',
      status: 'succeeded',
      exitCode: 0,
      timeoutSeconds: 3600,
      finishedAt: new Date(),
    },
  });
  await prisma.runLogLine.create({
    data: {
      organizationId: org.id,
      runId: finished.id,
      seq: 1,
      timestamp: new Date(),
      line: 'Run completed',
    },
  });
  const queued = await prisma.run.create({
    data: {
      organizationId: org.id,
      deploymentId: deployment.id,
      target: 'load',
      jobName: 'load',
      trigger: 'manual',
      timeoutSeconds: 3600,
    },
  });
  const deploy = await prisma.deploy.create({
    data: {
      organizationId: org.id,
      deploymentId: deployment.id,
      trigger: 'create',
      branch: 'main',
      status: 'succeeded',
      commitSha: 'd'.repeat(40),
    },
  });
  await prisma.meltanoState.create({
    data: {
      organizationId: org.id,
      deploymentId: deployment.id,
      stateId: 'prod:load',
      value: { singer_state: { bookmark: 1 } },
    },
  });
  return {
    finishedRunId: finished.id,
    queuedRunId: queued.id,
    deployId: deploy.id,
    orgId: org.id,
    orgSlug: slug,
    projectSlug: project.slug,
    projectId: project.id,
    deploymentSlug: deployment.slug,
    deploymentId: deployment.id,
    scheduleName: schedule.name,
    scheduleId: schedule.id,
    invalidScheduleName: 'broken',
    targetUserId: target.id,
    invitationId: invitation.id,
  };
}
