import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import type { SMTPServer } from 'smtp-server';
import { startSmtpSink, type SunkMail } from '../support/smtp-sink.js';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { parsePayload } from '../../src/queue/jobs.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { DeployEvents } from '../../src/deploys/deploy-events.js';
import { RunEvents } from '../../src/runs/run-events.js';
import type { OrgId } from '../../src/database/org-id.js';
import { NotificationDeliverer } from '../../src/notifications/notification-deliverer.js';
import { NotificationSettings } from '../../src/notifications/notification-settings.js';
import { NotificationsService } from '../../src/notifications/notifications.service.js';
import {
  filterMatches,
  filtersMatch,
  type NotificationEvent,
} from '../../src/notifications/events.js';
import { signWebhook, verifyWebhookSignature } from '../../src/notifications/webhook-signature.js';
import { isSlackWebhook } from '../../src/notifications/messages.js';
import { NotificationHandlers } from '../../worker/handlers/notification.handler.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  signatureValid: boolean | null;
}

interface Receiver {
  url: string;
  received: Received[];
  /** The secret the receiver checks signatures with (set once the channel exists). */
  secret: string | null;
  close(): Promise<void>;
}

/** A webhook receiver: answers each request with `statuses[n]` (last one repeats), or hangs. */
async function startReceiver(statuses: (number | 'hang')[] = [200]): Promise<Receiver> {
  const received: Received[] = [];
  const state: { secret: string | null } = { secret: null };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body,
        at: Date.now(),
        signatureValid: state.secret
          ? verifyWebhookSignature(state.secret, req.headers['x-meltanocloud-signature'], body, 300)
          : null,
      });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
      if (status === 'hang') return;
      res
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status >= 300 ? 'try later' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get secret() {
      return state.secret;
    },
    set secret(v) {
      state.secret = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notifications', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let worker: Worker;
  let smtp: SMTPServer;
  const mails: SunkMail[] = [];
  let sink: Receiver;
  let settings: NotificationSettings;
  const receivers: Receiver[] = [];
  const admin = () => users.admin.bearer;
  const base = () => `/orgs/${org.orgSlug}/notifications`;

  beforeAll(async () => {
    smtp = await startSmtpSink(mails);
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: 'meltano-cloud <alerts@example.test>',
      PUBLIC_URL: 'https://cloud.example.test',
    });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    settings = t.app.get(NotificationSettings);
    t.app.get(QueueService).tunePolicy('notification.deliver', { backoffMs: 250 });
    settings.slackHosts = ['127.0.0.1'];
    sink = await startReceiver([200]);
    receivers.push(sink);

    // The worker side: the real handler on a real BullMQ worker, in this process.
    const registry = new JobHandlerRegistry();
    new NotificationHandlers(registry, t.app.get(NotificationDeliverer));
    const queues = t.app.get(QueueService);
    worker = new Worker(
      'notifications',
      async (job) => {
        const handler = registry.get('notification.deliver');
        await handler!(parsePayload('notification.deliver', job.data), job);
      },
      { connection: queues.createConnection('test-notification-worker'), prefix: queues.prefix },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  async function createChannel(
    body: Record<string, unknown>,
    o: SeededOrg = org,
  ): Promise<{ id: string; secret: string | null }> {
    const res = await t.http
      .post(`/orgs/${o.orgSlug}/notifications`)
      .set('authorization', admin())
      .send(body)
      .expect(201);
    return { id: res.body.id, secret: res.body.signing_secret };
  }

  async function settled(deliveryId: string, timeoutMs = 15_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const d = await t.prisma.notificationDelivery.findUniqueOrThrow({
        where: { id: deliveryId },
      });
      if (d.status !== 'pending') return d;
      if (Date.now() > until) throw new Error(`delivery ${deliveryId} still pending`);
      await sleep(50);
    }
  }

  const runFailed = (
    overrides: Partial<NotificationEvent> = {},
    o: SeededOrg = org,
  ): NotificationEvent => ({
    type: 'run.failed',
    projectId: o.projectId,
    deploymentId: o.deploymentId,
    deploymentSlug: o.deploymentSlug,
    scheduleName: o.scheduleName,
    subject: {
      kind: 'run',
      id: crypto.randomUUID(),
      url: `https://cloud.example.test/orgs/${o.orgSlug}/runs/x`,
      status: 'failed',
      reason: 'tap-postgres exited with code 1',
      commitSha: '0123456789abcdef0123456789abcdef01234567',
    },
    ...overrides,
  });

  describe('channels API', () => {
    it('creates a webhook channel with a signing secret shown once, stored encrypted', async () => {
      const res = await t.http
        .post(base())
        .set('authorization', admin())
        .send({
          kind: 'webhook',
          target: `${sink.url}/hooks/a?token=abc`,
          filters: [{ events: ['run.failed', 'run.timed_out'], deployment: 'prod' }],
        })
        .expect(201);
      expect(res.body).toMatchObject({
        kind: 'webhook',
        target: `${sink.url}/hooks/a?token=abc`,
        active: true,
        project_id: null,
        slack: false,
        filters: [{ events: ['run.failed', 'run.timed_out'], deployment: 'prod' }],
      });
      expect(res.body.signing_secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      const row = await t.prisma.notificationChannel.findUniqueOrThrow({
        where: { id: res.body.id },
      });
      expect(Buffer.from(row.signingSecret!).toString()).not.toContain(res.body.signing_secret);
      expect(await t.app.get(NotificationsService).signingSecret(row)).toBe(
        res.body.signing_secret,
      );

      const asAdmin = await t.http
        .get(`${base()}/${res.body.id}`)
        .set('authorization', admin())
        .expect(200);
      expect(asAdmin.body).not.toHaveProperty('signing_secret');
      expect(asAdmin.body.target).toBe(`${sink.url}/hooks/a?token=abc`);
      // Webhook URLs often carry a credential: viewers see the origin only.
      const asViewer = await t.http
        .get(`${base()}/${res.body.id}`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      expect(asViewer.body.target).toBe(`${sink.url}/…`);
      const list = await t.http.get(base()).set('authorization', users.viewer.bearer).expect(200);
      expect(list.body.results.map((c: { id: string }) => c.id)).toContain(res.body.id);
      expect(JSON.stringify(list.body)).not.toContain(res.body.signing_secret);

      const audit = await t.prisma.auditEvent.findFirstOrThrow({
        where: {
          organizationId: org.orgId,
          action: 'notification.create',
          resourceId: res.body.id,
        },
      });
      expect(JSON.stringify(audit.details)).not.toContain(res.body.signing_secret);
      expect(JSON.stringify(audit.details)).not.toContain('token=abc');
    });

    it('creates project channels by slug; email channels get no secret', async () => {
      const res = await t.http
        .post(base())
        .set('authorization', admin())
        .send({
          kind: 'email',
          target: 'data-team@example.test',
          project: org.projectSlug,
          active: false,
          filters: [{ events: ['deploy.failed'] }],
        })
        .expect(201);
      expect(res.body).toMatchObject({
        project_id: org.projectId,
        active: false,
        signing_secret: null,
      });
      const filtered = await t.http
        .get(`${base()}?project=${org.projectSlug}`)
        .set('authorization', admin())
        .expect(200);
      expect(filtered.body.results.map((c: { id: string }) => c.id)).toEqual([res.body.id]);
    });

    it('validates bodies with field errors and refuses viewers and members', async () => {
      const bad: [Record<string, unknown>, string][] = [
        [
          { kind: 'webhook', target: 'ftp://x.test/a', filters: [{ events: ['run.failed'] }] },
          'body.target',
        ],
        [
          { kind: 'webhook', target: 'not a url', filters: [{ events: ['run.failed'] }] },
          'body.target',
        ],
        [
          { kind: 'email', target: 'https://x.test', filters: [{ events: ['run.failed'] }] },
          'body.target',
        ],
        [{ kind: 'sms', target: '+1', filters: [{ events: ['run.failed'] }] }, 'body.kind'],
        [{ kind: 'email', target: 'a@b.test', filters: [] }, 'body.filters'],
        [{ kind: 'email', target: 'a@b.test' }, 'body.filters'],
        [
          { kind: 'email', target: 'a@b.test', filters: [{ events: ['run.exploded'] }] },
          'body.filters.0.events.0',
        ],
        [{ kind: 'email', target: 'a@b.test', filters: [{ events: [] }] }, 'body.filters.0.events'],
        [
          { kind: 'email', target: 'a@b.test', filters: [{ events: ['run.failed'], branch: 'x' }] },
          'body.filters.0.branch',
        ],
        [
          { kind: 'email', target: 'a@b.test', filters: [{ events: ['run.failed'] }], secret: 'x' },
          'body.secret',
        ],
        [
          {
            kind: 'email',
            target: 'a@b.test',
            filters: [{ events: ['run.failed'] }],
            project: 'no-such-project',
          },
          'body.project',
        ],
      ];
      const before = await t.prisma.notificationChannel.count();
      for (const [body, field] of bad) {
        const res = await t.http.post(base()).set('authorization', admin()).send(body);
        expect([field, res.status]).toEqual([field, 400]);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      for (const who of ['viewer', 'member'] as const) {
        await t.http
          .post(base())
          .set('authorization', users[who].bearer)
          .send({ kind: 'email', target: 'a@b.test', filters: [{ events: ['run.failed'] }] })
          .expect(403);
      }
      expect(await t.prisma.notificationChannel.count()).toBe(before);
    });

    it('updates target, filters and status; kind cannot change; deletes', async () => {
      const { id } = await createChannel({
        kind: 'email',
        target: 'a@example.test',
        filters: [{ events: ['run.failed'] }],
      });
      const updated = await t.http
        .patch(`${base()}/${id}`)
        .set('authorization', admin())
        .send({ target: 'b@example.test', active: false, filters: [{ events: ['run.succeeded'] }] })
        .expect(200);
      expect(updated.body).toMatchObject({
        target: 'b@example.test',
        active: false,
        filters: [{ events: ['run.succeeded'] }],
      });
      const wrongTarget = await t.http
        .patch(`${base()}/${id}`)
        .set('authorization', admin())
        .send({ target: 'https://x.test/hook' });
      expect(wrongTarget.status).toBe(400);
      expect(wrongTarget.body.errors).toEqual([
        { field: 'body.target', message: 'must be an email address' },
      ]);
      const kind = await t.http
        .patch(`${base()}/${id}`)
        .set('authorization', admin())
        .send({ kind: 'webhook' });
      expect(kind.status).toBe(400);
      expect(kind.body.errors.map((e: { field: string }) => e.field)).toContain('body.kind');
      await t.http
        .patch(`${base()}/${id}`)
        .set('authorization', users.viewer.bearer)
        .send({ active: true })
        .expect(403);
      await t.http.delete(`${base()}/${id}`).set('authorization', admin()).expect(204);
      await t.http.get(`${base()}/${id}`).set('authorization', admin()).expect(404);
      await t.http.get(`${base()}/${id}/deliveries`).set('authorization', admin()).expect(404);
      // Another organization cannot see or touch a channel, even by id.
      const other = await seedOrg(t.prisma, users);
      const { id: mine } = await createChannel({
        kind: 'email',
        target: 'c@example.test',
        filters: [{ events: ['run.failed'] }],
      });
      await t.http
        .get(`/orgs/${other.orgSlug}/notifications/${mine}`)
        .set('authorization', admin())
        .expect(404);
      await t.http
        .delete(`/orgs/${other.orgSlug}/notifications/${mine}`)
        .set('authorization', admin())
        .expect(404);
    });
  });

  describe('filters', () => {
    const event = (o: Partial<NotificationEvent> = {}): NotificationEvent => ({
      type: 'run.failed',
      projectId: 'p',
      deploymentId: 'd-id',
      deploymentSlug: 'prod',
      scheduleName: 'daily',
      subject: { kind: 'run', id: 'r', url: 'u', status: 'failed' },
      ...o,
    });

    it('ANDs the fields within a filter', () => {
      const f = { events: ['run.failed' as const], deployment: 'prod', schedule: 'daily' };
      expect(filterMatches(f, event())).toBe(true);
      expect(filterMatches({ ...f, deployment: 'd-id' }, event())).toBe(true);
      expect(filterMatches(f, event({ type: 'run.succeeded' }))).toBe(false);
      expect(filterMatches(f, event({ deploymentSlug: 'staging', deploymentId: 'other' }))).toBe(
        false,
      );
      expect(filterMatches(f, event({ scheduleName: 'hourly' }))).toBe(false);
      expect(filterMatches(f, event({ scheduleName: null }))).toBe(false);
      expect(filterMatches({ events: ['run.failed'] }, event({ scheduleName: null }))).toBe(true);
    });

    it('ORs filters', () => {
      const filters = [
        { events: ['run.failed' as const], deployment: 'prod' },
        { events: ['deploy.failed' as const] },
      ];
      expect(filtersMatch(filters, event())).toBe(true);
      expect(
        filtersMatch(filters, event({ type: 'deploy.failed', deploymentSlug: 'staging' })),
      ).toBe(true);
      expect(filtersMatch(filters, event({ deploymentSlug: 'staging', deploymentId: 'x' }))).toBe(
        false,
      );
      expect(filtersMatch([], event())).toBe(false);
    });

    it('emit picks active matching channels of the organization and the event’s project', async () => {
      const fresh = await seedOrg(t.prisma, users);
      const path = `/orgs/${fresh.orgSlug}/notifications`;
      const make = async (body: Record<string, unknown>) =>
        (
          await t.http
            .post(path)
            .set('authorization', admin())
            .send({ kind: 'webhook', target: `${sink.url}/f`, ...body })
            .expect(201)
        ).body.id as string;
      const prodFailures = await make({
        filters: [{ events: ['run.failed'], deployment: 'prod' }],
      });
      const dailyOrDeploy = await make({
        filters: [
          { events: ['run.failed'], schedule: 'daily load' },
          { events: ['deploy.failed'] },
        ],
      });
      const successes = await make({ filters: [{ events: ['run.succeeded'] }] });
      const inactive = await make({ active: false, filters: [{ events: ['run.failed'] }] });
      const otherProject = await t.prisma.project.create({
        data: {
          organizationId: fresh.orgId,
          name: 'Other',
          slug: 'other',
          repository: 'acme/other',
        },
      });
      const projectOnly = await make({ project: 'other', filters: [{ events: ['run.failed'] }] });
      const notifications = t.app.get(NotificationsService);
      const channelsOf = async (ids: string[]) =>
        (await t.prisma.notificationDelivery.findMany({ where: { id: { in: ids } } }))
          .map((d) => d.channelId)
          .sort();

      const base = {
        projectId: fresh.projectId,
        deploymentId: fresh.deploymentId,
        deploymentSlug: 'prod',
        subject: {
          kind: 'run' as const,
          id: crypto.randomUUID(),
          url: 'https://x.test/r',
          status: 'failed',
        },
      };
      const a = await notifications.emit(fresh.orgId, {
        ...base,
        type: 'run.failed',
        scheduleName: 'daily load',
      });
      expect(await channelsOf(a)).toEqual([prodFailures, dailyOrDeploy].sort());
      const b = await notifications.emit(fresh.orgId, {
        ...base,
        type: 'run.failed',
        scheduleName: 'hourly',
        subject: { ...base.subject, id: crypto.randomUUID() },
      });
      expect(await channelsOf(b)).toEqual([prodFailures]);
      const c = await notifications.emit(fresh.orgId, {
        ...base,
        type: 'deploy.failed',
        subject: {
          kind: 'deploy',
          id: crypto.randomUUID(),
          url: 'https://x.test/d',
          status: 'failed',
        },
      });
      expect(await channelsOf(c)).toEqual([dailyOrDeploy]);
      const d = await notifications.emit(fresh.orgId, {
        ...base,
        type: 'run.failed',
        projectId: otherProject.id,
        deploymentId: crypto.randomUUID(),
        deploymentSlug: 'main',
        subject: { ...base.subject, id: crypto.randomUUID() },
      });
      expect(await channelsOf(d)).toEqual([projectOnly]);
      expect([successes, inactive]).toHaveLength(2);
    });
  });

  describe('emit', () => {
    it('never throws into its caller', async () => {
      const notifications = t.app.get(NotificationsService);
      await expect(notifications.emit('not-a-uuid', runFailed())).resolves.toEqual([]);
      await expect(
        notifications.emit(org.orgId, { ...runFailed(), projectId: 'also-not-a-uuid' }),
      ).resolves.toEqual([]);
    });

    it('is idempotent per channel and event: a repeated emit does not send twice', async () => {
      const receiver = await startReceiver([200]);
      receivers.push(receiver);
      const fresh = await seedOrg(t.prisma, users);
      await t.http
        .post(`/orgs/${fresh.orgSlug}/notifications`)
        .set('authorization', admin())
        .send({
          kind: 'webhook',
          target: `${receiver.url}/once`,
          filters: [{ events: ['run.failed'] }],
        })
        .expect(201);
      const event = {
        ...runFailed(),
        projectId: fresh.projectId,
        deploymentId: fresh.deploymentId,
      };
      const notifications = t.app.get(NotificationsService);
      const [first] = await notifications.emit(fresh.orgId, event);
      await settled(first!);
      expect(await notifications.emit(fresh.orgId, event)).toEqual([]);
      await sleep(300);
      expect(receiver.received).toHaveLength(1);
      expect(
        await t.prisma.notificationDelivery.count({ where: { organizationId: fresh.orgId } }),
      ).toBe(1);
    });
  });

  describe('webhook delivery', () => {
    let o: SeededOrg;
    const obase = () => `/orgs/${o.orgSlug}/notifications`;
    beforeEach(async () => {
      o = await seedOrg(t.prisma, users);
    });

    it('retries with exponential backoff until the receiver accepts, signing every attempt', async () => {
      const receiver = await startReceiver([500, 500, 200]);
      receivers.push(receiver);
      const { id, secret } = await createChannel(
        {
          kind: 'webhook',
          target: `${receiver.url}/hooks/retry`,
          filters: [
            { events: ['run.failed'], deployment: o.deploymentSlug, schedule: o.scheduleName },
          ],
        },
        o,
      );
      receiver.secret = secret;
      const event = runFailed({}, o);
      const [deliveryId] = await t.app.get(NotificationsService).emit(o.orgId, event);
      const delivery = await settled(deliveryId!);
      expect(delivery.status).toBe('delivered');
      expect(delivery.deliveredAt).not.toBeNull();
      expect(delivery.channelId).toBe(id);

      expect(receiver.received).toHaveLength(3);
      for (const r of receiver.received) {
        expect(r.signatureValid).toBe(true);
        expect(r.path).toBe('/hooks/retry');
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['x-meltanocloud-event']).toBe('run.failed');
        expect(r.headers['x-meltanocloud-delivery']).toBe(deliveryId);
        expect(r.headers['x-meltanocloud-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      }
      // The same body every time, so receivers can dedupe on id / idempotency_key.
      expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
      const body = JSON.parse(receiver.received[0]!.body);
      expect(body).toEqual({
        id: expect.any(String),
        type: 'run.failed',
        idempotency_key: `run.failed:run:${event.subject.id}`,
        created_at: expect.any(String),
        data: {
          organization: { id: o.orgId, slug: o.orgSlug, name: o.orgSlug },
          project: { id: o.projectId, slug: 'analytics', name: 'Analytics' },
          deployment: { id: o.deploymentId, slug: 'prod', name: 'prod' },
          schedule: 'daily load',
          run: {
            id: event.subject.id,
            url: event.subject.url,
            status: 'failed',
            reason: 'tap-postgres exited with code 1',
            commit_sha: '0123456789abcdef0123456789abcdef01234567',
          },
        },
      });

      // Backoff: 250 ms, then 500 ms (exponential), measured at the receiver.
      const [a, b, c] = receiver.received.map((r) => r.at) as [number, number, number];
      expect(b - a).toBeGreaterThanOrEqual(200);
      expect(c - b).toBeGreaterThanOrEqual(450);

      const deliveries = await t.http
        .get(`${obase()}/${id}/deliveries`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      expect(deliveries.body.results).toHaveLength(1);
      const shown = deliveries.body.results[0];
      expect(shown).toMatchObject({
        id: deliveryId,
        status: 'delivered',
        event_type: 'run.failed',
      });
      expect(
        shown.attempts.map((x: { attempt: number; status_code: number }) => [
          x.attempt,
          x.status_code,
        ]),
      ).toEqual([
        [1, 500],
        [2, 500],
        [3, 200],
      ]);
      expect(shown.attempts[0]).toEqual({
        attempt: 1,
        at: expect.any(String),
        status_code: 500,
        error: 'HTTP 500: try later',
        duration_ms: expect.any(Number),
      });
      expect(shown.attempts[2].error).toBeNull();
    });

    it('marks a delivery failed after its last attempt, recording each', async () => {
      const receiver = await startReceiver([503]);
      receivers.push(receiver);
      const { id } = await createChannel(
        {
          kind: 'webhook',
          target: `${receiver.url}/down`,
          filters: [{ events: ['run.timed_out'] }],
        },
        o,
      );
      t.app.get(QueueService).tunePolicy('notification.deliver', { attempts: 2 });
      try {
        const [deliveryId] = await t.app
          .get(NotificationsService)
          .emit(o.orgId, runFailed({ type: 'run.timed_out' }, o));
        const delivery = await settled(deliveryId!);
        expect(delivery.status).toBe('failed');
        expect((delivery.attempts as unknown[]).length).toBe(2);
      } finally {
        t.app.get(QueueService).tunePolicy('notification.deliver', { attempts: 6 });
      }
      const failed = await t.http
        .get(`${obase()}/${id}/deliveries?status=failed`)
        .set('authorization', admin())
        .expect(200);
      expect(failed.body.results).toHaveLength(1);
      expect(receiver.received).toHaveLength(2);
    });

    it('refuses webhook targets on private addresses when they are not allowed (production default)', async () => {
      const receiver = await startReceiver([200]);
      receivers.push(receiver);
      await createChannel(
        {
          kind: 'webhook',
          target: `${receiver.url}/internal`,
          filters: [{ events: ['deploy.failed'] }],
        },
        o,
      );
      t.config.notifications.allowPrivateTargets = false;
      try {
        const [deliveryId] = await t.app
          .get(NotificationsService)
          .emit(o.orgId, runFailed({ type: 'deploy.failed' }, o));
        const delivery = await settled(deliveryId!);
        expect(delivery.status).toBe('failed');
        expect(JSON.stringify(delivery.attempts)).toContain(
          'private or reserved address (127.0.0.1)',
        );
        // Refused before any request: retrying cannot help, so one attempt only.
        expect((delivery.attempts as unknown[]).length).toBe(1);
      } finally {
        t.config.notifications.allowPrivateTargets = true;
      }
      expect(receiver.received).toHaveLength(0);
    });

    it('gives up on a receiver that does not answer within the timeout', async () => {
      const receiver = await startReceiver(['hang']);
      receivers.push(receiver);
      await createChannel(
        {
          kind: 'webhook',
          target: `${receiver.url}/slow`,
          filters: [{ events: ['run.cancelled'] }],
        },
        o,
      );
      t.app.get(QueueService).tunePolicy('notification.deliver', { attempts: 1 });
      settings.timeoutMs = 300;
      try {
        const [deliveryId] = await t.app
          .get(NotificationsService)
          .emit(o.orgId, runFailed({ type: 'run.cancelled' }, o));
        const delivery = await settled(deliveryId!);
        expect(delivery.status).toBe('failed');
        const [attempt] = delivery.attempts as {
          error: string;
          status_code: number | null;
          duration_ms: number;
        }[];
        expect(attempt).toMatchObject({ status_code: null, error: 'timed out after 300 ms' });
        expect(attempt!.duration_ms).toBeGreaterThanOrEqual(250);
      } finally {
        t.app.get(QueueService).tunePolicy('notification.deliver', { attempts: 6 });
        settings.timeoutMs = 10_000;
      }
    });

    it('sends Slack incoming webhooks Slack’s format, also as a test send on an inactive channel', async () => {
      const receiver = await startReceiver([200]);
      receivers.push(receiver);
      expect(isSlackWebhook('https://hooks.slack.com/services/T000/B000/XXXX')).toBe(true);
      expect(isSlackWebhook('https://hooks.slack.com/workflows/1')).toBe(false);
      expect(isSlackWebhook('https://example.com/services/x')).toBe(false);
      const res = await t.http
        .post(obase())
        .set('authorization', admin())
        .send({
          kind: 'webhook',
          target: `${receiver.url}/services/T000/B000/XXXX`,
          active: false,
          filters: [{ events: ['run.failed'] }],
        })
        .expect(201);
      expect(res.body.slack).toBe(true);
      await t.http
        .post(`${obase()}/${res.body.id}/test`)
        .set('authorization', users.viewer.bearer)
        .expect(403);
      const sent = await t.http
        .post(`${obase()}/${res.body.id}/test`)
        .set('authorization', admin())
        .expect(202);
      expect(sent.body).toEqual({ delivery_id: expect.any(String), status: 'pending' });
      expect((await settled(sent.body.delivery_id)).status).toBe('delivered');
      const slack = JSON.parse(receiver.received[0]!.body);
      expect(Object.keys(slack).sort()).toEqual(['blocks', 'text']);
      expect(slack.text).toContain('Test notification');
      expect(slack.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });

      // A real event in Slack's format, with the link to the run.
      await t.http
        .patch(`${obase()}/${res.body.id}`)
        .set('authorization', admin())
        .send({ active: true })
        .expect(200);
      const event = runFailed({}, o);
      const [deliveryId] = await t.app.get(NotificationsService).emit(o.orgId, event);
      const all = await t.prisma.notificationDelivery.findMany({
        where: { idempotencyKey: `run.failed:run:${event.subject.id}` },
      });
      await Promise.all(all.map((d) => settled(d.id)));
      expect(deliveryId).toBeDefined();
      const message = JSON.parse(receiver.received[1]!.body);
      expect(message.text).toBe(
        ':x: Run failed: Analytics / prod (daily load) - tap-postgres exited with code 1',
      );
      expect(JSON.stringify(message.blocks)).toContain(`<${event.subject.url}|View run>`);
      expect(JSON.stringify(message.blocks)).toContain('`0123456789ab`');
    });
  });

  describe('email delivery', () => {
    let o: SeededOrg;
    beforeEach(async () => {
      o = await seedOrg(t.prisma, users);
    });

    it('sends a plain email linking to the run through SMTP', async () => {
      await createChannel(
        {
          kind: 'email',
          target: 'oncall@example.test',
          project: o.projectSlug,
          filters: [{ events: ['schedule.skipped'] }],
        },
        o,
      );
      const event = runFailed({ type: 'schedule.skipped' }, o);
      event.subject.status = 'skipped';
      event.subject.reason = 'a run of this schedule was still in progress';
      const [deliveryId] = await t.app.get(NotificationsService).emit(o.orgId, event);
      const delivery = await settled(deliveryId!);
      expect(delivery.status).toBe('delivered');
      const mail = mails.find((m) => m.to.includes('oncall@example.test'))!;
      expect(mails.filter((m) => m.to.includes('oncall@example.test'))).toHaveLength(1);
      expect(mail.from).toBe('alerts@example.test');
      expect(mail.to).toEqual(['oncall@example.test']);
      const headers = mail.raw.replace(/\r?\n[ \t]+/g, ' ');
      expect(headers).toMatch(
        /^Subject: \[meltano-cloud\] Scheduled run skipped: Analytics \/ prod \(daily load\)$/m,
      );
      expect(headers).toMatch(/^X-MeltanoCloud-Event: schedule\.skipped/im);
      const text = mail.raw.replace(/=\r?\n/g, '');
      expect(text).toContain('Reason:       a run of this schedule was still in progress');
      expect(text).toContain('Schedule:     daily load');
      expect(text).toContain(`View the run and its log: ${event.subject.url}`);
    });
  });

  describe('subscriptions', () => {
    it('reports finished runs and failed deploys told by RunEvents and DeployEvents', async () => {
      const receiver = await startReceiver([200]);
      receivers.push(receiver);
      const fresh = await seedOrg(t.prisma, users);
      const { body } = await t.http
        .post(`/orgs/${fresh.orgSlug}/notifications`)
        .set('authorization', admin())
        .send({
          kind: 'webhook',
          target: `${receiver.url}/all`,
          filters: [{ events: ['run.succeeded', 'deploy.failed'] }],
        })
        .expect(201);
      receiver.secret = body.signing_secret;
      const run = await t.prisma.run.create({
        data: {
          organizationId: fresh.orgId,
          deploymentId: fresh.deploymentId,
          scheduleId: fresh.scheduleId,
          target: fresh.scheduleName,
          trigger: 'schedule',
          status: 'succeeded',
          timeoutSeconds: 60,
          startedAt: new Date(Date.now() - 5000),
          finishedAt: new Date(),
        },
      });
      await t.app.get(RunEvents).runFinished(fresh.orgId as OrgId, run.id);
      const deployment = await t.prisma.deployment.findUniqueOrThrow({
        where: { id: fresh.deploymentId },
      });
      const deploy = await t.prisma.deploy.create({
        data: {
          organizationId: fresh.orgId,
          deploymentId: fresh.deploymentId,
          trigger: 'manual',
          branch: 'main',
          commitSha: 'abc123',
          status: 'failed',
        },
      });
      await t.app.get(DeployEvents).deployFailed(deployment, deploy.id, 'meltano.yml not found');
      const deliveries = await t.prisma.notificationDelivery.findMany({
        where: { organizationId: fresh.orgId },
      });
      expect(deliveries.map((d) => d.eventType).sort()).toEqual(['deploy.failed', 'run.succeeded']);
      await Promise.all(deliveries.map((d) => settled(d.id)));
      const bodies = receiver.received.map((r) => JSON.parse(r.body));
      expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
      const runBody = bodies.find((b) => b.type === 'run.succeeded');
      expect(runBody.data.schedule).toBe('daily load');
      expect(runBody.data.run).toMatchObject({
        id: run.id,
        status: 'succeeded',
        url: `https://cloud.example.test/orgs/${fresh.orgSlug}/runs/${run.id}`,
      });
      const deployBody = bodies.find((b) => b.type === 'deploy.failed');
      expect(deployBody.data.deploy).toMatchObject({
        id: deploy.id,
        reason: 'meltano.yml not found',
        commit_sha: 'abc123',
      });
    });
  });

  describe('verifyWebhookSignature', () => {
    it('accepts the signed body within the tolerance only', () => {
      const secret = 'whsec_test';
      const body = '{"id":"1"}';
      const now = Date.now();
      const header = signWebhook(secret, body, Math.floor(now / 1000));
      expect(verifyWebhookSignature(secret, header, body, 300, now)).toBe(true);
      expect(verifyWebhookSignature(secret, header, Buffer.from(body), 300, now)).toBe(true);
      expect(verifyWebhookSignature(secret, header, '{"id":"2"}', 300, now)).toBe(false);
      expect(verifyWebhookSignature('whsec_other', header, body, 300, now)).toBe(false);
      // Replays: an old timestamp is refused, and changing it breaks the signature.
      expect(verifyWebhookSignature(secret, header, body, 300, now + 301_000)).toBe(false);
      const v1 = header.split(',v1=')[1];
      expect(
        verifyWebhookSignature(secret, `t=${Math.floor(now / 1000) + 1},v1=${v1}`, body, 300, now),
      ).toBe(false);
      expect(verifyWebhookSignature(secret, undefined, body)).toBe(false);
      expect(verifyWebhookSignature(secret, 'garbage', body)).toBe(false);
      // Several signatures (secret rotation): one valid is enough.
      const other = signWebhook('whsec_old', body, Math.floor(now / 1000)).split(',')[1];
      expect(verifyWebhookSignature(secret, `${header},${other}`, body, 300, now)).toBe(true);
    });
  });
});
