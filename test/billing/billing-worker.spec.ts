import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers } from '../support/fixtures.js';
import { startFakeStripe, type FakeStripe, stripeTestEnv } from '../support/fake-stripe.js';
import { waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { QueueService } from '../../src/queue/queue.service.js';

/** The billing hooks as the worker runs them: the ledger row of a real run, usage reporting, cancellation. */
describe('billing in the worker', () => {
  let stripe: FakeStripe;
  let t: TestApp;
  let users: RoleUsers;
  let worker: RunningWorker;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await createTestApp({
      ...stripeTestEnv(stripe, 'whsec_worker', 'price_metered'),
      // Runs fail at the clone (git is `false`): quick, and their pipeline never starts.
      GIT_BIN: 'false',
    });
    users = await createRoleUsers(t.prisma);
    worker = await startWorker(t.config, undefined, { watchdogMs: 60_000 });
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
    await stripe.close();
  });

  it('declares the usage report and the daily reconciliation as recurring jobs', async () => {
    const schedulers = await worker.app.get(QueueService).queue('billing').getJobSchedulers();
    expect(schedulers.map((s) => [s.key, Number(s.every)]).sort()).toEqual([
      ['billing.reconcile', 86_400_000],
      ['billing.report-usage', 60_000],
    ]);
  });

  it('writes the ledger row of a run with its final status (nothing billed before the pipeline starts)', async () => {
    const org = await seedOrg(t.prisma, users);
    const res = await t.http
      .post(
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/runs`,
      )
      .set('authorization', users.member.bearer)
      .send({ job: 'load' })
      .expect(201);
    const runId = res.body.id as string;
    const run = await waitFor(
      async () => {
        const r = await t.prisma.run.findUniqueOrThrow({ where: { id: runId } });
        return r.status === 'failed' ? r : null;
      },
      20_000,
      'the run to fail',
    );
    const row = await t.prisma.usageLedgerEntry.findUniqueOrThrow({ where: { runId } });
    expect(row).toMatchObject({
      organizationId: org.orgId,
      projectId: org.projectId,
      deploymentId: org.deploymentId,
      status: 'failed',
      trigger: 'api',
      creditsTenths: 0,
      billedSeconds: 0,
      finishedAt: run.finishedAt,
    });
  });

  it('cancels the Stripe subscription of a deleted organization', async () => {
    const org = await seedOrg(t.prisma, users);
    await t.prisma.run.updateMany({
      where: { organizationId: org.orgId, status: 'queued' },
      data: { status: 'cancelled' },
    });
    await t.prisma.organizationBilling.create({
      data: {
        organizationId: org.orgId,
        stripeSubscriptionId: 'sub_to_cancel',
        subscriptionStatus: 'active',
        paymentState: 'ok',
      },
    });
    await t.http
      .delete(`/orgs/${org.orgSlug}`)
      .set('authorization', users.owner.bearer)
      .expect(204);
    await waitFor(
      async () =>
        stripe.requests.find(
          (r) => r.method === 'DELETE' && r.path === '/v1/subscriptions/sub_to_cancel',
        ) ?? null,
      10_000,
      'the cancellation',
    );
  });
});
