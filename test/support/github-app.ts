import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import type { PrismaService } from '../../src/database/prisma.service.js';
import type { Deploy } from '../../src/generated/prisma/client.js';
import {
  startFakeGitHub,
  type FakeGitHub,
  type FakeGitHubOptions,
  type FakeRepository,
} from './fake-github.js';
import {
  createProdDeployment,
  createRoleUsers,
  seedOrg,
  type RoleUsers,
  type SeededOrg,
} from './fixtures.js';
import { webhookDelivery, type WebhookDelivery } from './github-payloads.js';
import { createTestApp, type TestApp } from './test-app.js';

/** The settings for signing in with the fake GitHub's OAuth app. */
export const githubOAuthEnv = (fake: FakeGitHub): Record<string, string> => ({
  GITHUB_WEB_URL: fake.url,
  GITHUB_API_URL: fake.apiUrl,
  GITHUB_OAUTH_CLIENT_ID: fake.clientId,
  GITHUB_OAUTH_CLIENT_SECRET: fake.clientSecret,
});

/** The App's settings for a test app talking to the fake GitHub. */
export const githubAppEnv = (fake: FakeGitHub): Record<string, string> => ({
  GITHUB_APP_ID: String(fake.appId),
  GITHUB_APP_SLUG: fake.appSlug,
  GITHUB_APP_PRIVATE_KEY: fake.appPrivateKeyPem,
  GITHUB_APP_WEBHOOK_SECRET: fake.webhookSecret,
  ...githubOAuthEnv(fake),
});

export interface GitHubTestApp {
  fake: FakeGitHub;
  t: TestApp;
}

/**
 * A fake GitHub and the API configured for it (no rate limit): as a GitHub App,
 * or with `oauthOnly` just for signing in.
 */
export async function startGitHubTestApp(
  options: { github?: FakeGitHubOptions; env?: Record<string, string>; oauthOnly?: boolean } = {},
): Promise<GitHubTestApp> {
  const fake = await startFakeGitHub(options.github);
  const t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    ...(options.oauthOnly ? githubOAuthEnv(fake) : githubAppEnv(fake)),
    ...options.env,
  });
  return { fake, t };
}

export interface GitHubAppOrg extends GitHubTestApp {
  http: supertest.Agent;
  users: RoleUsers;
  org: SeededOrg;
}

/** {@link startGitHubTestApp} as a GitHub App, with an organization and one user per role. */
export async function startGitHubAppOrg(
  options: { github?: FakeGitHubOptions; env?: Record<string, string> } = {},
): Promise<GitHubAppOrg> {
  const { fake, t } = await startGitHubTestApp(options);
  const http = supertest.agent(t.app.getHttpServer());
  const users = await createRoleUsers(t.prisma);
  const org = await seedOrg(t.prisma, users);
  return { fake, t, http, users, org };
}

/**
 * Links App installation `installationId` (of organization account `accountLogin`)
 * to `organizationId` and grants it `repositories`, as the setup callback would.
 */
export async function linkInstallation(
  prisma: PrismaService,
  organizationId: string,
  installationId: number,
  repositories: FakeRepository[],
  accountLogin = 'acme',
): Promise<void> {
  const linked = await prisma.githubInstallation.create({
    data: {
      organizationId,
      installationId: BigInt(installationId),
      accountLogin,
      accountType: 'Organization',
    },
  });
  for (const r of repositories) {
    await prisma.githubRepository.create({
      data: {
        organizationId,
        installationId: linked.id,
        githubRepoId: BigInt(r.id),
        fullName: r.fullName,
        defaultBranch: 'main',
      },
    });
  }
}

/** The admin creates project Warehouse on acme/warehouse (root `meltano`); returns its id. */
export async function createWarehouseProject({ http, users, org }: GitHubAppOrg): Promise<string> {
  const created = await http
    .post(`/orgs/${org.orgSlug}/projects`)
    .set('authorization', users.admin.bearer)
    .send({ name: 'Warehouse', repository: 'acme/warehouse', root_path: 'meltano' })
    .expect(201);
  return created.body.id as string;
}

/** {@link createWarehouseProject} with a ready `prod` deployment; returns both ids. */
export async function createWarehouseDeployment(
  app: GitHubAppOrg,
  data: { includePaths?: string[] } = {},
): Promise<{ projectId: string; deploymentId: string }> {
  const projectId = await createWarehouseProject(app);
  const deployment = await createProdDeployment(app.t.prisma, app.org.orgId, projectId, {
    status: 'ready',
    ...data,
  });
  return { projectId, deploymentId: deployment.id };
}

/** Posts a signed webhook delivery to the API. */
export const postWebhook = (http: supertest.Agent, delivery: WebhookDelivery) =>
  http.post('/github/webhooks').set(delivery.headers).send(delivery.body);

/** Posts `payload` as an App webhook of `event`, signed with the fake GitHub's secret. */
export const deliverAppWebhook = (
  http: supertest.Agent,
  fake: FakeGitHub,
  event: string,
  payload: unknown,
  deliveryId = randomUUID(),
) =>
  postWebhook(
    http,
    webhookDelivery(event, payload, fake.webhookSecret, deliveryId, { targetId: fake.appId }),
  );

const FINAL_DEPLOY_STATUSES = new Set(['succeeded', 'failed', 'superseded']);

/** The deploy once it has succeeded, failed or been superseded (polled; throws after `timeoutMs`). */
export async function settledDeploy(
  prisma: PrismaService,
  deployId: string,
  timeoutMs: number,
): Promise<Deploy> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deploy = await prisma.deploy.findUniqueOrThrow({ where: { id: deployId } });
    if (FINAL_DEPLOY_STATUSES.has(deploy.status)) return deploy;
    if (Date.now() > deadline) throw new Error(`deploy ${deployId} still ${deploy.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
