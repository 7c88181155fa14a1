import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { startSmtpSink, type SunkMail } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';
import { startFakeStripe, type FakeStripe, stripeTestEnv } from '../support/fake-stripe.js';
import { createUsageOrg, finishRun, type UsageOrg } from '../support/billing-fixtures.js';
import { BillingGate } from '../../src/billing/billing-gate.js';
import { BillingAlerts, limitEpisode } from '../../src/billing/billing-alerts.js';

describe('owners are told once per episode when work pauses for billing', () => {
  let stripe: FakeStripe;
  let smtp: SMTPServer;
  const mails: SunkMail[] = [];
  let t: TestApp;
  let owner: TestUser;
  let org: UsageOrg;
  let gate: BillingGate;
  let alerts: BillingAlerts;
  let orgChannel = '';

  beforeAll(async () => {
    stripe = await startFakeStripe();
    smtp = await startSmtpSink(mails);
    t = await createTestApp({
      ...stripeTestEnv(stripe, 'whsec_test_' + 'c'.repeat(32)),
      SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      MAIL_FROM: 'meltano-cloud <alerts@example.test>',
      PUBLIC_URL: 'https://cloud.example.test',
    });
    gate = t.app.get(BillingGate);
    alerts = t.app.get(BillingAlerts);
    owner = await createUserWithToken(t.prisma, 'limit-owner');
    await t.prisma.user.update({ where: { id: owner.id }, data: { email: 'owner@example.test' } });
    org = await createUsageOrg(t.prisma, owner.id, 'limit-org');
    // A second owner without an address, an admin with one (admins are not emailed).
    const quiet = await createUserWithToken(t.prisma, 'limit-owner-2');
    const admin = await createUserWithToken(t.prisma, 'limit-admin');
    await t.prisma.user.update({ where: { id: admin.id }, data: { email: 'admin@example.test' } });
    await t.prisma.membership.createMany({
      data: [
        { organizationId: org.orgId, userId: quiet.id, role: 'owner' },
        { organizationId: org.orgId, userId: admin.id, role: 'admin' },
      ],
    });

    // Channels: the organization's subscribes to billing limits (the API accepts the event);
    // a project's channel and one for other events hear nothing of it.
    const created = await t.http
      .post(`/orgs/${org.slug}/notifications`)
      .set('authorization', owner.bearer)
      .send({
        kind: 'email',
        target: 'billing-alerts@example.test',
        filters: [{ events: ['billing.limit_reached'] }],
      })
      .expect(201);
    orgChannel = created.body.id as string;
    await t.prisma.notificationChannel.createMany({
      data: [
        {
          organizationId: org.orgId,
          projectId: org.analytics.projectId,
          kind: 'email',
          target: 'project@example.test',
          filters: [{ events: ['billing.limit_reached'] }],
        },
        {
          organizationId: org.orgId,
          kind: 'email',
          target: 'runs@example.test',
          filters: [{ events: ['run.failed'] }],
        },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
    await stripe?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  const deliveries = () =>
    t.prisma.notificationDelivery.findMany({
      where: { organizationId: org.orgId },
      orderBy: { createdAt: 'asc' },
    });
  const ownerMails = () => mails.filter((m) => m.to.includes('owner@example.test'));

  it('stays quiet while work may go on', async () => {
    await finishRun(t, org.orgId, { deploymentId: org.analytics.deploymentId, target: 'load' }, 3);
    expect(await gate.check(org.orgId)).toBeNull();
    await alerts.settled();
    expect(await deliveries()).toEqual([]);
    expect(mails).toEqual([]);
  });

  it('the free allowance used up: one event and one email per owner, however many ticks and runs find it', async () => {
    // 1000 minutes past the first 10: 1 + 99 credits, 100 with the earlier run's 1.
    await finishRun(
      t,
      org.orgId,
      { deploymentId: org.analytics.deploymentId, target: 'load' },
      999,
    );
    const reasons = await Promise.all([1, 2, 3, 4].map(() => gate.check(org.orgId)));
    for (const reason of reasons)
      expect(reason).toMatch(/^billing limit reached: the free allowance/);
    expect(await gate.check(org.orgId)).toBe(reasons[0]);
    // A manual run is refused with 402, and is no new episode either.
    const refused = await t.http
      .post(`/orgs/${org.slug}/projects/analytics/deployments/prod/runs`)
      .set('authorization', owner.bearer)
      .send({ schedule: 'daily load' })
      .expect(402);
    expect(refused.body.detail).toBe(reasons[0]);
    await alerts.settled();

    const sent = await deliveries();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      channelId: orgChannel,
      eventType: 'billing.limit_reached',
      idempotencyKey: expect.stringContaining(
        `billing.limit_reached:${limitEpisode(reasons[0]!)}:`,
      ),
    });
    expect(sent[0]!.payload).toMatchObject({
      type: 'billing.limit_reached',
      data: {
        organization: { slug: 'limit-org' },
        project: null,
        deployment: null,
        billing: {
          status: 'paused',
          reason: reasons[0],
          limit: 'free_allowance',
          url: 'https://cloud.example.test/orgs/limit-org/billing',
        },
      },
    });

    expect(mails.map((m) => m.to)).toEqual([['owner@example.test']]);
    const mail = ownerMails()[0]!.raw.replace(/=\r?\n/g, '');
    expect(mail).toContain('Subject: [meltano-cloud] Work paused in limit-org Inc: billing limit');
    expect(mail).toContain('the free allowance of 100 credits');
    expect(mail).toContain('https://cloud.example.test/orgs/limit-org/billing');
    expect(mail).toMatch(/^X-MeltanoCloud-Event: billing\.limit_reached\r?$/im);
  });

  it('a new limit is a new episode; once work may go on, the same limit again is told again', async () => {
    // Subscribed (paid plan) with a $5 cap: 100 credits at $1 are past it.
    await t.prisma.organization.update({ where: { id: org.orgId }, data: { plan: 'usage' } });
    await t.prisma.organizationBilling.update({
      where: { organizationId: org.orgId },
      data: { spendCapCents: 500, stripeSubscriptionId: 'sub_1', subscriptionStatus: 'active' },
    });
    const cap = await gate.check(org.orgId);
    expect(cap).toMatch(/^billing limit reached: the spend cap of \$5\.00/);
    expect(await gate.check(org.orgId)).toBe(cap);
    await alerts.settled();
    expect((await deliveries()).map((d) => d.eventType)).toEqual([
      'billing.limit_reached',
      'billing.limit_reached',
    ]);
    expect(ownerMails()).toHaveLength(2);

    // Cap raised: work goes on, the episode ends.
    await t.prisma.organizationBilling.update({
      where: { organizationId: org.orgId },
      data: { spendCapCents: 100_000 },
    });
    expect(await gate.check(org.orgId)).toBeNull();
    expect(
      (
        await t.prisma.organizationBilling.findUniqueOrThrow({
          where: { organizationId: org.orgId },
        })
      ).limitNotice,
    ).toBeNull();
    // Lowered to $5 again: the same reason, but a new episode, told once more.
    await t.prisma.organizationBilling.update({
      where: { organizationId: org.orgId },
      data: { spendCapCents: 500 },
    });
    expect(await gate.check(org.orgId)).toBe(cap);
    expect(await gate.check(org.orgId)).toBe(cap);
    await alerts.settled();
    expect(await deliveries()).toHaveLength(3);
    expect(ownerMails()).toHaveLength(3);
  });

  it('nothing is told without Stripe (limits are not enforced)', async () => {
    const selfHosted = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    try {
      const someone = await createUserWithToken(selfHosted.prisma, 'self-hosted-owner');
      const quietOrg = await createUsageOrg(selfHosted.prisma, someone.id, 'limit-org-self');
      await finishRun(
        selfHosted,
        quietOrg.orgId,
        { deploymentId: quietOrg.analytics.deploymentId, target: 'load' },
        2000,
      );
      expect(await selfHosted.app.get(BillingGate).check(quietOrg.orgId)).toBeNull();
      await selfHosted.app.get(BillingAlerts).settled();
      expect(await selfHosted.prisma.notificationDelivery.count()).toBe(0);
    } finally {
      await selfHosted.close();
    }
  });
});
