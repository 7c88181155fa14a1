import { randomBytes } from 'node:crypto';
import {
  CHROMIUM,
  browserMissing,
  playwright,
  screenshotPath,
  type Browser,
  type Page,
} from '../support/browser.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Issue 15: the dashboard's Notifications and Meltano state pages, and a
 * deployment without a Meltano environment, in headless Chromium against the
 * real API (no worker: test sends stay pending, the attempts shown are seeded).
 * Needs playwright-core and Chromium, as the other browser suites; never skips.
 */
describe('dashboard Notifications and Meltano state pages in Chromium', () => {
  it('has a browser to drive', () => {
    expect(browserMissing).toBeNull();
  });

  let t: TestApp;
  let browser: Browser;
  let base: string;
  let orgId = '';
  let deploymentId = '';
  const slug = 'acme-pages';
  const problems: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
    browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A signed-in page (the test server's sign-in form takes a login), watched for errors. */
  async function signedIn(login: string, width = 1280): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    // A step that cannot happen fails naming its selector, well within the test's own timeout.
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/login?return_to=%2F`);
    await page.fill('input[name=login]', login);
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/(orgs|o\/[^/]+)$/);
    problems.length = 0;
    return page;
  }
  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
  const shot = async (page: Page, name: string) =>
    page.screenshot({ path: await screenshotPath(name), fullPage: true });

  let owner: Page;
  it('shows a deployment without a Meltano environment as "(no environment)"', async () => {
    owner = await signedIn('pages-owner');
    const user = await t.prisma.user.findFirstOrThrow({ where: { login: 'pages-owner' } });
    const org = await t.prisma.organization.create({
      data: {
        name: 'Acme Pages',
        slug,
        billingAccountNumber: `MC-${randomBytes(5).toString('hex')}`,
      },
    });
    orgId = org.id;
    await t.prisma.membership.create({
      data: { organizationId: org.id, userId: user.id, role: 'owner' },
    });
    const project = await t.prisma.project.create({
      data: {
        organizationId: org.id,
        name: 'Analytics',
        slug: 'analytics',
        repository: 'acme/analytics',
        rootPath: '.',
      },
    });
    // A project whose meltano.yml has no environments: the deployment has none.
    const deployment = await t.prisma.deployment.create({
      data: {
        organizationId: org.id,
        projectId: project.id,
        name: 'prod',
        slug: 'prod',
        environment: '',
        branch: 'main',
        status: 'ready',
        deployedCommitSha: 'e'.repeat(40),
      },
    });
    deploymentId = deployment.id;

    await owner.goto(`${base}/#/o/${slug}/p/analytics`);
    await owner.locator('section[aria-labelledby=h-deployments] tbody tr').waitFor();
    expect(await text(owner, 'section[aria-labelledby=h-deployments] tbody tr')).toContain(
      '(no environment)',
    );
    await owner.click(`a[href="#/o/${slug}/p/analytics/d/prod"]`);
    await owner.locator('main h1', { hasText: 'Analytics / prod' }).waitFor();
    expect(await text(owner, 'main .facts')).toMatch(/Environment\s+\(no environment\)/i);
    expect(problems).toEqual([]);
  });

  let channelId = '';
  it('adds a webhook channel with filters, showing its signing secret once', async () => {
    await owner.click(`#nav a[href="#/o/${slug}/notifications"]`);
    await owner.locator('main h1', { hasText: 'Notifications' }).waitFor();
    expect(await text(owner, 'section[aria-labelledby=h-channels]')).toContain('No channels yet');

    const form = 'form[aria-label="Add a notification channel"]';
    // A bad URL is shown next to its field.
    await owner.fill(`${form} input[name=target]`, 'not a url');
    await owner.click(`${form} button[type=submit]`);
    await owner.locator(`${form} input[name=target][aria-invalid=true]`).waitFor();
    expect(await text(owner, `${form} .field-error:not([hidden])`)).toContain('http(s) URL');
    // No event at all: the checkboxes say so.
    await owner.fill(`${form} input[name=target]`, 'https://hooks.example.com/meltano');
    for (const event of ['run.failed', 'run.timed_out'])
      await owner.uncheck(`${form} input[name=events][value="${event}"]`);
    expect(await owner.locator(`${form} input[name=events]:checked`).count()).toBe(0);
    await owner.click(`${form} button[type=submit]`);
    await owner.locator(`${form} fieldset.events[aria-invalid=true]`).waitFor();
    expect(await text(owner, '#events-error')).toContain('at least one event');

    await owner.check(`${form} input[name=events][value="run.failed"]`);
    await owner.check(`${form} input[name=events][value="deploy.failed"]`);
    await owner.fill(`${form} input[name=deployment]`, 'prod');
    await owner.click(`${form} button[type=submit]`);
    await owner.locator('.signing-secret').waitFor();
    const secret = await text(owner, '.signing-secret .secret-once');
    expect(secret.length).toBeGreaterThan(20);
    const row = owner.locator('section[aria-labelledby=h-channels] tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.innerText()).toMatch(
      /webhook.*https:\/\/hooks\.example\.com\/meltano.*organization.*run\.failed or deploy\.failed · deployment prod/s,
    );
    const channel = await t.prisma.notificationChannel.findFirstOrThrow({
      where: { organizationId: orgId },
    });
    channelId = channel.id;
    expect(channel.filters).toEqual([
      { events: ['run.failed', 'deploy.failed'], deployment: 'prod' },
    ]);
    await shot(owner, 'notifications');
    // Shown only in the creation response: a fresh page does not have it.
    await owner.reload();
    await row.waitFor();
    expect(await owner.locator('.signing-secret').count()).toBe(0);
    expect(await owner.locator('body').innerText()).not.toContain(secret);
    expect(problems).toEqual([]);
  });

  it('switches a channel off and on, and a test send shows up in its deliveries', async () => {
    const toggle = 'input[aria-label="Channel https://hooks.example.com/meltano active"]';
    await owner.click(toggle);
    await owner.locator('#flash', { hasText: 'switched off' }).waitFor();
    expect(
      (await t.prisma.notificationChannel.findUniqueOrThrow({ where: { id: channelId } })).active,
    ).toBe(false);
    await owner.click(toggle);
    await owner.locator('#flash', { hasText: 'switched on' }).waitFor();

    // An earlier delivery that failed twice, then went through (as the worker records attempts).
    await t.prisma.notificationDelivery.create({
      data: {
        organizationId: orgId,
        channelId,
        eventType: 'run.failed',
        idempotencyKey: 'run.failed:run:seeded',
        payload: { type: 'run.failed' },
        status: 'delivered',
        deliveredAt: new Date(Date.now() - 60_000),
        createdAt: new Date(Date.now() - 600_000),
        attempts: [
          {
            attempt: 1,
            at: new Date(Date.now() - 600_000).toISOString(),
            status_code: 500,
            error: 'HTTP 500 Internal Server Error',
            duration_ms: 120,
          },
          {
            attempt: 2,
            at: new Date(Date.now() - 300_000).toISOString(),
            status_code: null,
            error: 'connect ECONNREFUSED',
            duration_ms: 3,
          },
          {
            attempt: 3,
            at: new Date(Date.now() - 60_000).toISOString(),
            status_code: 200,
            error: null,
            duration_ms: 85,
          },
        ],
      },
    });

    await owner.click('button[aria-label="Send a test to https://hooks.example.com/meltano"]');
    await owner.waitForURL(new RegExp(`#/o/${slug}/notifications/${channelId}$`));
    await owner.locator('main h1', { hasText: 'Deliveries to' }).waitFor();
    const rows = owner.locator('section[aria-labelledby=h-deliveries] tbody tr');
    await rows.nth(1).waitFor();
    // Newest first: the test send, waiting for the worker; then the seeded one with its attempts.
    expect(await rows.nth(0).innerText()).toMatch(/notification\.test.*pending.*not tried yet/s);
    const attempts = rows.nth(1).locator('ol.attempts li');
    expect(await attempts.count()).toBe(3);
    expect(await attempts.nth(0).innerText()).toMatch(/HTTP 500 · 120 ms\s+HTTP 500 Internal/);
    expect(await attempts.nth(1).innerText()).toMatch(/no response · 3 ms\s+connect ECONNREFUSED/);
    expect(await attempts.nth(2).innerText()).toMatch(/HTTP 200 · 85 ms$/);
    expect(await rows.nth(1).innerText()).toContain('delivered');
    await shot(owner, 'notification-deliveries');

    await owner.selectOption('#delivery-status', 'delivered');
    await owner.waitForURL(/\?status=delivered$/);
    await owner
      .locator('section[aria-labelledby=h-deliveries] tbody tr', { hasText: 'run.failed' })
      .waitFor();
    expect(await rows.count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it('lists, shows and clears Meltano state (admins), read-only for viewers', async () => {
    await t.prisma.meltanoState.createMany({
      data: [
        {
          organizationId: orgId,
          deploymentId,
          stateId: 'prod:tap-github-to-target-postgres',
          value: { singer_state: { bookmarks: { issues: { since: '2026-11-30T00:00:00Z' } } } },
        },
        {
          organizationId: orgId,
          deploymentId,
          stateId: 'prod:tap-stripe-to-target-postgres',
          value: { singer_state: { bookmarks: { charges: { created: 1764547200 } } } },
        },
      ],
    });
    await owner.goto(`${base}/#/o/${slug}/p/analytics/d/prod`);
    await owner.click('a:has-text("Meltano state")');
    await owner.waitForURL(new RegExp(`#/o/${slug}/p/analytics/d/prod/state$`));
    const rows = owner.locator('section[aria-labelledby=h-states] tbody tr');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    const github = 'details[data-state="prod:tap-github-to-target-postgres"]';
    await owner.click(`${github} summary`);
    await owner.locator(`${github} pre`, { hasText: 'bookmarks' }).waitFor();
    expect(JSON.parse(await text(owner, `${github} pre`))).toEqual({
      singer_state: { bookmarks: { issues: { since: '2026-11-30T00:00:00Z' } } },
    });
    await shot(owner, 'state');

    await owner.click('button[aria-label="Clear state prod:tap-stripe-to-target-postgres"]');
    await owner.locator('#flash', { hasText: 'Cleared state prod:tap-stripe' }).waitFor();
    await owner
      .locator('section[aria-labelledby=h-states] tbody tr', { hasText: 'tap-stripe' })
      .waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(1);
    expect(
      await t.prisma.meltanoState.count({ where: { organizationId: orgId, deploymentId } }),
    ).toBe(1);

    const viewer = await signedIn('pages-viewer');
    const user = await t.prisma.user.findFirstOrThrow({ where: { login: 'pages-viewer' } });
    await t.prisma.membership.create({
      data: { organizationId: orgId, userId: user.id, role: 'viewer' },
    });
    await viewer.goto(`${base}/#/o/${slug}/p/analytics/d/prod/state`);
    await viewer.locator('section[aria-labelledby=h-states] tbody tr').waitFor();
    expect(await viewer.locator('button:has-text("Clear")').count()).toBe(0);
    expect(await text(viewer, '.subtitle')).toContain('Only admins can clear state.');
    // Viewers see channels (webhook URLs shortened to their origin) but no controls.
    await viewer.goto(`${base}/#/o/${slug}/notifications`);
    await viewer.locator('section[aria-labelledby=h-channels] tbody tr').waitFor();
    expect(await text(viewer, 'section[aria-labelledby=h-channels] tbody')).toContain(
      'https://hooks.example.com/…',
    );
    expect(await viewer.locator('form[aria-label="Add a notification channel"]').count()).toBe(0);
    expect(await viewer.locator('button:has-text("Send test")').count()).toBe(0);
    await viewer.setViewportSize({ width: 390, height: 844 });
    // At phone width each channel is a card: nothing hidden sideways.
    expect(await viewer.locator('section[aria-labelledby=h-channels] thead').isVisible()).toBe(
      false,
    );
    const card = await viewer.locator('section[aria-labelledby=h-channels] tbody tr').boundingBox();
    expect(card!.x + card!.width).toBeLessThanOrEqual(390);
    await shot(viewer, 'notifications-phone');
    await viewer.close();
    expect(problems).toEqual([]);
  });

  it('names who did what in the audit log, and says when it was through the CLI', async () => {
    const user = await t.prisma.user.findFirstOrThrow({ where: { login: 'pages-owner' } });
    await t.prisma.user.update({ where: { id: user.id }, data: { name: 'Pat Owner' } });
    const run = await t.prisma.run.create({
      data: {
        organizationId: orgId,
        deploymentId,
        target: 'load',
        jobName: 'load',
        trigger: 'cli',
        triggeredById: user.id,
        status: 'queued',
        timeoutSeconds: 60,
      },
    });
    // As RunsService records a run started with `meltano-cloud run` (the CLI's user agent: trigger cli).
    await t.prisma.auditEvent.create({
      data: {
        organizationId: orgId,
        actorUserId: user.id,
        actorLogin: 'pages-owner',
        action: 'run.start',
        resourceType: 'run',
        resourceId: run.id,
        ip: '127.0.0.1',
        userAgent: 'meltano-cloud-cli/0.1.0',
        details: { target: 'load', deployment: 'prod' },
      },
    });
    await owner.goto(`${base}/#/o/${slug}/audit`);
    const row = owner.locator('tbody tr', { hasText: 'run.start' });
    await row.waitFor();
    expect(await row.locator('.actor').innerText()).toBe('Pat Owner (pages-owner) via the CLI');
    expect(await row.locator('.resource').innerText()).toBe('run prod / load');
    expect(await text(owner, 'tbody tr:has-text("state.clear") .resource')).toBe(
      'deployment Analytics / prod · state prod:tap-stripe-to-target-postgres',
    );
    // The channel added through the dashboard: named by kind and address, not by id.
    const channel = owner.locator('tbody tr', { hasText: 'notification.create' });
    expect(await channel.locator('.resource').innerText()).toMatch(
      /^notification channel webhook https:\/\/hooks\.example\.com\/…$/,
    );
    await shot(owner, 'audit-names');
    // Who started the run shows on its page too.
    await owner.goto(`${base}/#/o/${slug}/runs/${run.id}`);
    await owner.locator('.started-by', { hasText: 'Pat Owner' }).waitFor();
    expect(await text(owner, '.started-by')).toBe('CLI · Pat Owner (pages-owner)');
    await shot(owner, 'run-started-from-cli');
    expect(problems).toEqual([]);
  });
});
