import Stripe from 'stripe';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { startFakeStripe, type FakeStripe, stripeTestEnv } from '../support/fake-stripe.js';
import { testConfig } from '../support/test-env.js';
import { Transactions } from '../../src/database/transactions.js';
import type { OrgId } from '../../src/database/org-id.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { RunEvents } from '../../src/runs/run-events.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';
import { ScheduleTimersRepository } from '../../src/schedules/schedule-timers.repository.js';
import { SystemRepository } from '../../src/database/system.repository.js';
import { RunsRepository } from '../../src/runs/runs.repository.js';
import { RunFactory } from '../../src/runs/run-factory.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import { BillingGate } from '../../src/billing/billing-gate.js';
import { BillingRepository } from '../../src/billing/billing.repository.js';
import { UsageLedgerRepository } from '../../src/billing/usage-ledger.repository.js';
import { UsageReporter } from '../../src/billing/usage-reporter.js';
import { stripeConnection } from '../../src/billing/stripe-gateway.js';
import { billingPeriodOf } from '../../src/billing/pricing.js';

const WEBHOOK_SECRET = 'whsec_test_' + 'a'.repeat(32);
const signer = new Stripe('sk_test_signer');

describe('billing with Stripe (a local server speaking its API, reached through the SDK)', () => {
  let stripe: FakeStripe;
  let t: TestApp;
  let users: RoleUsers;
  let ledger: UsageLedgerRepository;
  let transactions: Transactions;
  let gate: BillingGate;
  let scheduler: SchedulerService;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await createTestApp({ ...stripeTestEnv(stripe, WEBHOOK_SECRET), BILLING_GRACE_DAYS: '7' });
    users = await createRoleUsers(t.prisma);
    ledger = t.app.get(UsageLedgerRepository);
    transactions = t.app.get(Transactions);
    gate = t.app.get(BillingGate);
    // The scheduler is the worker's; built here over the API process's database and queues.
    const runs = new RunsRepository(t.prisma);
    scheduler = new SchedulerService(
      new SystemRepository(t.prisma),
      new ScheduleTimersRepository(t.prisma),
      runs,
      new RunFactory(runs),
      new RunQueue(t.app.get(QueueService)),
      t.app.get(QueueService),
      new RunEvents(runs),
      gate,
    );
  });
  afterAll(async () => {
    await t.close();
    await stripe.close();
  });

  const owner = () => users.owner.bearer;
  const asOwner = (m: 'get' | 'post' | 'patch', url: string) =>
    t.http[m](url).set('authorization', owner());

  function event(
    type: string,
    object: Record<string, unknown>,
    eventId = `evt_${Math.random().toString(36).slice(2)}`,
    created = Math.floor(Date.now() / 1000),
  ) {
    return {
      id: eventId,
      object: 'event',
      api_version: '2026-10-28.endive',
      created,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object },
    };
  }

  /** A new organization whose owner has started a checkout (so it has a Stripe customer). */
  async function checkedOutOrg() {
    const org = await seedOrg(t.prisma, users);
    await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`).send({}).expect(201);
    const { stripeCustomerId } = await t.prisma.organization.findUniqueOrThrow({
      where: { id: org.orgId },
    });
    return { org, stripeCustomerId };
  }

  /** Stripe's event for the organization's completed subscription checkout. */
  const checkoutCompleted = (
    org: SeededOrg,
    customer: string | null,
    sessionId: string,
    subscription: string,
  ) =>
    event('checkout.session.completed', {
      id: sessionId,
      object: 'checkout.session',
      mode: 'subscription',
      customer,
      client_reference_id: org.orgId,
      subscription,
    });

  function sendWebhook(
    body: object,
    options: { secret?: string; timestamp?: number; header?: string | null } = {},
  ) {
    const payload = JSON.stringify(body);
    const header =
      options.header === null
        ? undefined
        : (options.header ??
          signer.webhooks.generateTestHeaderString({
            payload,
            secret: options.secret ?? WEBHOOK_SECRET,
            ...(options.timestamp ? { timestamp: options.timestamp } : {}),
          }));
    let req = t.http.post('/stripe/webhooks').set('content-type', 'application/json');
    if (header) req = req.set('stripe-signature', header);
    return req.send(payload);
  }

  /** A finished run with a pipeline of `minutes`, priced into the ledger in its own transaction. */
  async function finishedRun(
    org: SeededOrg,
    minutes: number,
    trigger: 'schedule' | 'manual' = 'manual',
  ) {
    const finishedAt = new Date();
    const run = await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        scheduleId: trigger === 'schedule' ? org.scheduleId : null,
        target: 'daily load',
        jobName: 'load',
        trigger,
        status: 'succeeded',
        timeoutSeconds: 3600,
        startedAt: new Date(finishedAt.getTime() - minutes * 60_000 - 90_000),
        pipelineStartedAt: new Date(finishedAt.getTime() - minutes * 60_000),
        finishedAt,
      },
    });
    const row = await transactions.run((tx) => ledger.recordForRun(org.orgId as OrgId, run, tx));
    return { run, row: row! };
  }

  it('parses the SDK connection from STRIPE_API_URL', () => {
    expect(stripeConnection('http://127.0.0.1:12111')).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
    expect(stripeConnection('https://api.stripe.com')).toEqual({
      host: 'api.stripe.com',
      port: 443,
      protocol: 'https',
    });
  });

  it('prices a finished run into the ledger once, in the period it finished', async () => {
    const org = await seedOrg(t.prisma, users);
    const { run, row } = await finishedRun(org, 12, 'schedule');
    // The seeded schedule is daily (1 a day): 1 credit + 2 started minutes past 10.
    expect(row).toMatchObject({
      runId: run.id,
      creditsTenths: 12,
      frequent: false,
      runsPerDay: 1,
      billedSeconds: 720,
      trigger: 'schedule',
      period: billingPeriodOf(run.finishedAt!),
      reportedAt: null,
    });
    // A second write for the same run changes nothing.
    await transactions.run((tx) => ledger.recordForRun(org.orgId as OrgId, run, tx));
    expect(await t.prisma.usageLedgerEntry.count({ where: { runId: run.id } })).toBe(1);
  });

  it('shows billing and usage from the ledger', async () => {
    const org = await seedOrg(t.prisma, users);
    await finishedRun(org, 3);
    await finishedRun(org, 15);
    const billing = await asOwner('get', `/orgs/${org.orgSlug}/billing`).expect(200);
    expect(billing.body).toMatchObject({
      enforced: true,
      plan: { id: 'free', free_allowance_credits: 100 },
      credits_used: 2.5,
      credits_left: 97.5,
      payment_state: 'none',
      has_payment_method: false,
      limit_reached: null,
    });
    const usage = await t.http
      .get(`/orgs/${org.orgSlug}/usage?by=project&page_size=1`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(usage.body).toMatchObject({
      by: 'project',
      total_credits: 2.5,
      totals: [{ key: org.projectId, name: 'Analytics', credits: 2.5, runs: 2 }],
    });
    expect(usage.body.results).toHaveLength(1);
    const next = await t.http
      .get(
        `/orgs/${org.orgSlug}/usage?by=day&page_size=1&page_token=${usage.body.pagination.next_page_token}`,
      )
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(next.body.results).toHaveLength(1);
    expect(next.body.results[0].id).not.toBe(usage.body.results[0].id);
    expect(next.body.pagination.next_page_token).toBeNull();
    expect(next.body.totals[0].key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await t.http
      .get(`/orgs/${org.orgSlug}/usage?period=2026-13`)
      .set('authorization', owner())
      .expect(400);
  });

  it('creates the Stripe customer lazily, once, and starts Checkout for the metered price', async () => {
    const org = await seedOrg(t.prisma, users);
    const before = stripe.requestsTo('/v1/customers').length;
    const first = await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`)
      .send({})
      .expect(201);
    expect(first.body.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
    await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`).send({}).expect(201);
    const created = stripe.requestsTo('/v1/customers').slice(before);
    expect(created).toHaveLength(1);
    const stored = await t.prisma.organization.findUniqueOrThrow({ where: { id: org.orgId } });
    expect(created[0]).toMatchObject({
      authorization: 'Bearer sk_test_meltano',
      idempotencyKey: `customer-${stored.billingAccountNumber}`,
      body: {
        metadata: {
          organization_id: org.orgId,
          organization_slug: org.orgSlug,
          billing_account_number: stored.billingAccountNumber,
        },
      },
    });
    expect(stored.stripeCustomerId).toMatch(/^cus_/);
    const sessions = stripe.requestsTo('/v1/checkout/sessions').slice(-2);
    for (const s of sessions)
      expect(s.body).toMatchObject({
        mode: 'subscription',
        customer: stored.stripeCustomerId,
        client_reference_id: org.orgId,
        line_items: [{ price: 'price_credits_metered' }],
        success_url: `${t.config.http.publicUrl}/orgs/${org.orgSlug}/billing`,
      });
    // A metered price takes no quantity.
    expect((sessions[0]!.body.line_items as Record<string, unknown>[])[0]).not.toHaveProperty(
      'quantity',
    );
    // Return URLs must stay on this service.
    const refused = await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`)
      .send({ success_url: 'https://evil.example.com/' })
      .expect(400);
    expect(refused.body.errors).toEqual([
      { field: 'body.success_url', message: expect.stringContaining('must be on') },
    ]);

    const portal = await asOwner('post', `/orgs/${org.orgSlug}/billing/portal`)
      .send({ return_url: '/orgs/x/billing' })
      .expect(201);
    expect(portal.body.url).toMatch(/^https:\/\/billing\.stripe\.com\//);
    expect(stripe.requestsTo('/v1/billing_portal/sessions').at(-1)!.body).toEqual({
      customer: stored.stripeCustomerId,
      return_url: `${t.config.http.publicUrl}/orgs/x/billing`,
    });
  });

  it('verifies webhooks over the raw body: forged, stale and unsigned ones are refused; replays do nothing', async () => {
    const { org, stripeCustomerId } = await checkedOutOrg();
    const completed = checkoutCompleted(org, stripeCustomerId, 'cs_test_1', 'sub_1');
    const forged = await sendWebhook(completed, { secret: 'whsec_wrong' }).expect(400);
    expect(forged.headers['content-type']).toContain('application/problem+json');
    await sendWebhook(completed, { timestamp: Math.floor(Date.now() / 1000) - 3600 }).expect(400);
    await sendWebhook(completed, { header: null }).expect(400);
    // Re-serialised JSON (different bytes) does not verify either.
    const header = signer.webhooks.generateTestHeaderString({
      payload: JSON.stringify(completed),
      secret: WEBHOOK_SECRET,
    });
    await t.http
      .post('/stripe/webhooks')
      .set('content-type', 'application/json')
      .set('stripe-signature', header)
      .send(JSON.stringify(completed, null, 2))
      .expect(400);
    expect(
      await t.prisma.organizationBilling.findUnique({ where: { organizationId: org.orgId } }),
    ).toBeNull();

    const ok = await sendWebhook(completed).expect(200);
    expect(ok.body).toMatchObject({ event: completed.id, result: 'applied' });
    const billing = await asOwner('get', `/orgs/${org.orgSlug}/billing`).expect(200);
    expect(billing.body).toMatchObject({
      plan: { id: 'usage' },
      payment_state: 'ok',
      has_payment_method: true,
      subscription_status: 'active',
    });
    // Someone changes the state; the replayed event must not undo it.
    await t.prisma.organizationBilling.update({
      where: { organizationId: org.orgId },
      data: { subscriptionStatus: 'past_due' },
    });
    const replay = await sendWebhook(completed).expect(200);
    expect(replay.body.result).toBe('duplicate');
    expect(
      (
        await t.prisma.organizationBilling.findUniqueOrThrow({
          where: { organizationId: org.orgId },
        })
      ).subscriptionStatus,
    ).toBe('past_due');

    // The subscription ends: back to the free plan.
    await sendWebhook(
      event('customer.subscription.deleted', {
        id: 'sub_1',
        object: 'subscription',
        customer: stripeCustomerId,
        status: 'canceled',
        metadata: {},
      }),
    ).expect(200);
    const after = await asOwner('get', `/orgs/${org.orgSlug}/billing`).expect(200);
    expect(after.body).toMatchObject({
      plan: { id: 'free' },
      payment_state: 'none',
      subscription_status: 'canceled',
    });
  });

  it('applies events by when they happened, not when they arrive (Stripe does not deliver in order)', async () => {
    const { org, stripeCustomerId } = await checkedOutOrg();
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const sub = (status: string) => ({
      id: 'sub_order',
      object: 'subscription',
      customer: stripeCustomerId,
      status,
      metadata: { organization_id: org.orgId },
    });
    const state = () =>
      t.prisma.organizationBilling.findUniqueOrThrow({ where: { organizationId: org.orgId } });
    // The subscription became active at t0+10 and past due at t0+20; the "created" event
    // (t0) and the "active" update arrive after the "past due" one.
    const pastDue = await sendWebhook(
      event('customer.subscription.updated', sub('past_due'), undefined, t0 + 20),
    ).expect(200);
    expect(pastDue.body.result).toBe('applied');
    const late = await sendWebhook(
      event('customer.subscription.updated', sub('active'), undefined, t0 + 10),
    ).expect(200);
    expect(late.body.result).toBe('stale');
    const created = await sendWebhook(
      event('customer.subscription.created', sub('incomplete'), undefined, t0),
    ).expect(200);
    expect(created.body.result).toBe('stale');
    expect(await state()).toMatchObject({
      subscriptionStatus: 'past_due',
      paymentState: 'past_due',
    });
    const graceEndsAt = (await state()).graceEndsAt;
    expect(graceEndsAt).not.toBeNull();

    // The invoice was paid at t0+40; the failure of t0+30 is delivered afterwards.
    const invoice = { id: 'in_order', object: 'invoice', customer: stripeCustomerId };
    await sendWebhook(event('invoice.paid', invoice, undefined, t0 + 40)).expect(200);
    const failed = await sendWebhook(
      event('invoice.payment_failed', invoice, undefined, t0 + 30),
    ).expect(200);
    expect(failed.body.result).toBe('stale');
    expect(await state()).toMatchObject({ paymentState: 'ok', graceEndsAt: null });
    const billing = await asOwner('get', `/orgs/${org.orgSlug}/billing`).expect(200);
    expect(billing.body.payment_state).toBe('ok');

    // A later failure still counts.
    await sendWebhook(event('invoice.payment_failed', invoice, undefined, t0 + 50)).expect(200);
    expect((await state()).paymentState).toBe('past_due');
  });

  it('reaching the cap skips the next tick with the reason and refuses manual runs with 402; raising it resumes', async () => {
    const { org, stripeCustomerId } = await checkedOutOrg();
    await sendWebhook(checkoutCompleted(org, stripeCustomerId, 'cs_cap', 'sub_cap')).expect(200);
    // Only the owner sets the cap: $2.00 = 2 credits at $1.00.
    await t.http
      .patch(`/orgs/${org.orgSlug}/billing`)
      .set('authorization', users.admin.bearer)
      .send({ spend_cap_cents: 200 })
      .expect(403);
    await asOwner('patch', `/orgs/${org.orgSlug}/billing`)
      .send({ spend_cap_cents: 200 })
      .expect(200);
    await finishedRun(org, 1);
    expect(await gate.check(org.orgId as OrgId)).toBeNull();
    await finishedRun(org, 1);
    const reason = await gate.check(org.orgId as OrgId);
    expect(reason).toMatch(
      /^billing limit reached: the spend cap of \$2\.00 for \d{4}-\d{2} is reached/,
    );

    /** The schedule's timer fires at `at` (handled a second later); the row it leaves. */
    const tickAndFind = async (at: Date) => {
      await scheduler.tick(org.orgId as OrgId, org.scheduleId, at, new Date(at.getTime() + 1000));
      return t.prisma.run.findFirstOrThrow({ where: { scheduleId: org.scheduleId, tickAt: at } });
    };
    await t.prisma.schedule.update({ where: { id: org.scheduleId }, data: { enabled: true } });
    const tickAt = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const skipped = await tickAndFind(tickAt);
    expect(skipped).toMatchObject({ status: 'skipped', statusReason: reason });

    const refused = await t.http
      .post(
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/runs`,
      )
      .set('authorization', users.member.bearer)
      .send({ job: 'load' })
      .expect(402);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 402, detail: reason });
    expect(refused.body.detail).toContain(`PATCH /orgs/${org.orgSlug}/billing`);

    // Raising the cap resumes at the next tick, no restart.
    const raised = await asOwner('patch', `/orgs/${org.orgSlug}/billing`)
      .send({ spend_cap_cents: null })
      .expect(200);
    expect(raised.body.limit_reached).toBeNull();
    const nextTick = new Date(tickAt.getTime() + 60_000);
    const ran = await tickAndFind(nextTick);
    expect(ran.status).toBe('queued');
    await t.http
      .post(
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/runs`,
      )
      .set('authorization', users.member.bearer)
      .send({ job: 'load' })
      .expect(201);
  });

  it('a failed payment pauses work after the grace period; paying (invoice.paid) resumes it', async () => {
    const { org, stripeCustomerId } = await checkedOutOrg();
    await sendWebhook(checkoutCompleted(org, stripeCustomerId, 'cs_grace', 'sub_grace')).expect(
      200,
    );
    const invoice = { id: 'in_1', object: 'invoice', customer: stripeCustomerId, status: 'open' };
    await sendWebhook(event('invoice.payment_failed', invoice)).expect(200);
    const state = await t.prisma.organizationBilling.findUniqueOrThrow({
      where: { organizationId: org.orgId },
    });
    expect(state.paymentState).toBe('past_due');
    const days = (state.graceEndsAt!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    // Within the grace period work goes on; a retried failure does not extend it.
    expect(await gate.check(org.orgId as OrgId)).toBeNull();
    await sendWebhook(event('invoice.payment_failed', invoice)).expect(200);
    expect(
      (
        await t.prisma.organizationBilling.findUniqueOrThrow({
          where: { organizationId: org.orgId },
        })
      ).graceEndsAt,
    ).toEqual(state.graceEndsAt);
    // Eight days later: paused.
    const later = new Date(Date.now() + 8 * 86_400_000);
    expect(await gate.check(org.orgId as OrgId, later)).toMatch(
      /^billing limit reached: a payment failed and the grace period ended on .*Customer Portal/,
    );
    await sendWebhook(event('invoice.paid', { ...invoice, status: 'paid' })).expect(200);
    expect(await gate.check(org.orgId as OrgId, later)).toBeNull();
  });

  it('the free allowance used up without a payment method pauses work; nothing is enforced without Stripe', async () => {
    const org = await seedOrg(t.prisma, users);
    for (let i = 0; i < 5; i++) await finishedRun(org, 200); // 1 + 190 started minutes = 20 credits each
    const reason = await gate.check(org.orgId as OrgId);
    expect(reason).toMatch(
      /^billing limit reached: the free allowance of 100 credits for .* is used up; .*checkout/,
    );
    const selfHosted = new BillingGate(testConfig(t.db.url), t.app.get(BillingRepository), ledger);
    expect(await selfHosted.check(org.orgId as OrgId)).toBeNull();
  });

  it('Stripe being down neither delays nor fails a run: runs are admitted without calling it, totals come from the ledger', async () => {
    const org = await seedOrg(t.prisma, users);
    await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`).send({}).expect(201);
    await t.prisma.organization.update({ where: { id: org.orgId }, data: { plan: 'usage' } });
    const before = stripe.requests.length;
    stripe.meterEventFate = () => 'fail';
    try {
      const started = await t.http
        .post(
          `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/runs`,
        )
        .set('authorization', users.member.bearer)
        .send({ job: 'load' })
        .expect(201);
      expect(started.body.status).toBe('queued');
      // Nothing on the run's path spoke to Stripe.
      expect(stripe.requests.length).toBe(before);
      const { row } = await finishedRun(org, 3);
      // Stripe refuses every meter event: the reporter's job fails (the queue retries it)...
      await expect(t.app.get(UsageReporter).reportPending()).rejects.toThrow();
      expect(
        (await t.prisma.usageLedgerEntry.findUniqueOrThrow({ where: { id: row.id } })).reportedAt,
      ).toBeNull();
      // ...and the owner still sees the credits used, read from the ledger.
      const billing = await asOwner('get', `/orgs/${org.orgSlug}/billing`).expect(200);
      expect(billing.body.credits_used).toBe(1);
    } finally {
      stripe.meterEventFate = () => 'accept';
    }
    // Stripe is back: the row is reported, once.
    await t.app.get(UsageReporter).reportPending();
    const entry = await t.prisma.usageLedgerEntry.findFirstOrThrow({
      where: { organizationId: org.orgId, reportedAt: { not: null } },
    });
    expect(stripe.meterEvents.filter((e) => e.identifier === entry.id)).toHaveLength(1);
  });

  describe('the usage reporter', () => {
    let org: SeededOrg;
    let rows: string[];
    const reporter = () => t.app.get(UsageReporter);

    beforeAll(async () => {
      org = await seedOrg(t.prisma, users);
      await asOwner('post', `/orgs/${org.orgSlug}/billing/checkout`).send({}).expect(201);
      await t.prisma.organization.update({ where: { id: org.orgId }, data: { plan: 'usage' } });
      rows = [];
      for (let i = 0; i < 6; i++) rows.push((await finishedRun(org, 11 + i)).row.id);
    });

    it('sends exactly one meter event per ledger row after a failure mid-batch and a restart', async () => {
      const ours = () => stripe.meterEvents.filter((e) => rows.includes(e.identifier));
      // Stripe accepts the 3rd row but its answer is lost, then fails outright on the 4th.
      stripe.meterEventFate = (identifier, attempt) =>
        identifier === rows[2] && attempt === 1
          ? 'accept-then-fail'
          : identifier === rows[3] && attempt === 1
            ? 'fail'
            : 'accept';
      await expect(reporter().reportPending()).rejects.toThrow();
      expect(ours().map((e) => e.identifier)).toEqual(rows.slice(0, 3));
      const reported = await t.prisma.usageLedgerEntry.findMany({ where: { id: { in: rows } } });
      expect(
        reported
          .filter((r) => r.reportedAt)
          .map((r) => r.id)
          .sort(),
      ).toEqual(rows.slice(0, 2).sort());
      // The worker restarts and the job runs again: Stripe already has the 3rd row (its
      // identifier is refused as a duplicate: marked reported, not counted twice); the 4th fails.
      await expect(reporter().reportPending()).rejects.toThrow();
      // And once more: the rest goes through.
      const last = await reporter().reportPending();
      expect(last).toMatchObject({ sent: 3, duplicates: 0, held: 0 });
      expect(
        ours()
          .map((e) => e.identifier)
          .sort(),
      ).toEqual([...rows].sort());
      const entries = await t.prisma.usageLedgerEntry.findMany({ where: { id: { in: rows } } });
      const { stripeCustomerId } = await t.prisma.organization.findUniqueOrThrow({
        where: { id: org.orgId },
      });
      for (const entry of entries) {
        expect(entry.reportedAt).not.toBeNull();
        expect(entry.stripeIdentifier).toBe(entry.id);
        const sent = ours().find((e) => e.identifier === entry.id)!;
        expect(sent).toMatchObject({
          event_name: 'meltano_credits',
          payload: { stripe_customer_id: stripeCustomerId, value: String(entry.creditsTenths) },
          timestamp: Math.floor(entry.finishedAt.getTime() / 1000),
        });
      }
      expect(entries.find((e) => e.id === rows[3])!.reportAttempts).toBe(2);
      // The daily reconciliation finds nothing missing and sends nothing again.
      const before = stripe.requestsTo('/v1/billing/meter_events').length;
      expect(await reporter().reconcile()).toMatchObject({ pendingBefore: 0, sent: 0 });
      expect(stripe.requestsTo('/v1/billing/meter_events')).toHaveLength(before);
    });

    it('holds a row whose earlier attempt may have reached Stripe outside its dedupe window', async () => {
      stripe.meterEventFate = () => 'accept';
      const { row } = await finishedRun(org, 2);
      await t.prisma.usageLedgerEntry.update({
        where: { id: row.id },
        data: {
          reportAttempts: 1,
          firstReportAt: new Date(Date.now() - 2 * 86_400_000),
          lastReportError: 'transient: socket hang up',
        },
      });
      const result = await reporter().reportPending();
      expect(result.held).toBe(1);
      expect(stripe.meterEvents.some((e) => e.identifier === row.id)).toBe(false);
      // Free-plan usage and runs that cost nothing are never sent.
      const free = await seedOrg(t.prisma, users);
      await asOwner('post', `/orgs/${free.orgSlug}/billing/checkout`).send({}).expect(201);
      const freeRow = (await finishedRun(free, 1)).row;
      await reporter().reportPending();
      expect(stripe.meterEvents.some((e) => e.identifier === freeRow.id)).toBe(false);
    });
  });
});
