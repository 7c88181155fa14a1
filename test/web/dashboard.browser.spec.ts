import {
  CHROMIUM,
  playwright,
  browserMissing,
  type Browser,
  type Page,
} from '../support/browser.js';
import os from 'node:os';
import path from 'node:path';
import { createDailyLoadSchedule, createProdDeployment } from '../support/fixtures.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The dashboard in headless Chromium, against the real API. Needs the
 * `playwright-core` devDependency and a Chromium at /usr/bin/chromium (or
 * CHROMIUM_PATH; `.ci/run` installs Debian's). Without them the suite fails
 * saying what is missing: it never skips itself.
 */

const skipReason = browserMissing;

describe('dashboard in Chromium', () => {
  it('has a browser to drive', () => {
    expect(skipReason).toBeNull();
  });

  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  const problems: string[] = [];
  const shots = path.join(os.tmpdir(), 'meltano-cloud-dashboard');

  /** `#/o/acme-data/...` inside the dashboard. */
  const hash = (h: string) =>
    new RegExp(`^${base.replace(/[.]/g, '\\.')}/${h.replace(/[?]/g, '\\?')}$`);
  const text = (selector: string) => page.locator(selector).first().innerText();
  /** Waits until the element shows the text. */
  const showing = (selector: string, hasText: string | RegExp) =>
    page.locator(selector, { hasText }).first().waitFor();
  const count = (selector: string) => page.locator(selector).count();

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
    browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // API refusals the test provokes show up as failed loads; anything else is a bug.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(shots, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('sends signed-out visitors to the sign-in page and back', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login\?return_to=%2F$/);
    await page.fill('input[name=login]', 'dash-owner');
    await page.click('button[type=submit]');
    // Nobody has an organization yet: the dashboard offers to create one.
    await page.waitForURL(hash('#/orgs'));
    await page.waitForSelector('form[aria-label="Create an organization"]');
    expect(await text('#user')).toContain('dash-owner');
    // Only the dashboard's own pages are held to "no console errors" (not /login's).
    problems.length = 0;
  });

  it('creates an organization and a project, showing field errors next to fields', async () => {
    await page.fill('form[aria-label="Create an organization"] input[name=name]', 'Acme Data');
    await page.click('form[aria-label="Create an organization"] button[type=submit]');
    await page.waitForURL(hash('#/o/acme-data'));
    await page.waitForSelector('form[aria-label="Create a project"]');
    expect(await text('main h1')).toBe('Acme Data');
    expect(await text('#org-switcher')).toContain('Acme Data');

    const form = 'form[aria-label="Create a project"]';
    await page.fill(`${form} input[name=name]`, 'Analytics');
    await page.fill(`${form} input[name=repository]`, 'not a repository');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector(`${form} input[name=repository][aria-invalid=true]`);
    // The message sits next to the field, tied to it by aria-describedby.
    const describedBy = await page
      .locator(`${form} input[name=repository]`)
      .getAttribute('aria-describedby');
    const errorId = (describedBy ?? '').split(' ').find((id) => id.endsWith('-error'));
    expect(await text(`#${errorId}`)).toMatch(/owner\/name/);

    await page.fill(`${form} input[name=repository]`, 'acme/analytics');
    await page.fill(`${form} input[name=root_path]`, 'data');
    await page.click(`${form} button[type=submit]`);
    await page.waitForURL(hash('#/o/acme-data/p/analytics'));
    await page.waitForSelector('section[aria-labelledby=h-deployments]');
    expect(await text('main h1')).toBe('Analytics');
    expect(await text('.facts')).toContain('acme/analytics');
  });

  let runId = '';
  it('lists deployments and schedules, and a schedule toggle persists', async () => {
    const org = await t.prisma.organization.findFirstOrThrow({ where: { slug: 'acme-data' } });
    const project = await t.prisma.project.findFirstOrThrow({ where: { organizationId: org.id } });
    const deployment = await createProdDeployment(t.prisma, org.id, project.id, {
      status: 'ready',
      deployedCommitSha: '3f2a9c1d0b8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a',
      deployedAt: new Date(),
      meltanoJobs: { load: ['tap-x target-y'] },
      meltanoEnvironments: ['prod'],
    });
    const schedule = await createDailyLoadSchedule(t.prisma, org.id, deployment.id);
    await t.prisma.schedule.create({
      data: {
        organizationId: org.id,
        deploymentId: deployment.id,
        name: 'broken',
        interval: '0 0 * * * *',
        invalidReason: "interval '0 0 * * * *' has 6 fields",
      },
    });
    const finished = await t.prisma.run.create({
      data: {
        organizationId: org.id,
        deploymentId: deployment.id,
        scheduleId: schedule.id,
        target: 'daily load',
        jobName: 'load',
        trigger: 'schedule',
        status: 'succeeded',
        commitSha: deployment.deployedCommitSha,
        timeoutSeconds: 3600,
        exitCode: 0,
        queuedAt: new Date(Date.now() - 95_000),
        admittedAt: new Date(Date.now() - 94_000),
        startedAt: new Date(Date.now() - 90_000),
        pipelineStartedAt: new Date(Date.now() - 80_000),
        finishedAt: new Date(Date.now() - 5_000),
      },
    });
    runId = finished.id;
    await t.prisma.runLogLine.createMany({
      data: ['Extracting tap-x', 'warning: slow source', 'Loaded 42 rows'].map((line, i) => ({
        organizationId: org.id,
        runId: finished.id,
        seq: i + 1,
        stream: i === 1 ? 'stderr' : 'stdout',
        timestamp: new Date(Date.now() - 60_000 + i * 1000),
        line,
      })),
    });

    await page.reload();
    await page.waitForSelector('a[href="#/o/acme-data/p/analytics/d/prod"]');
    expect(await text('section[aria-labelledby=h-deployments] tbody')).toMatch(
      /prod.*ready.*3f2a9c1/s,
    );
    await page.click('a[href="#/o/acme-data/p/analytics/d/prod"]');
    await page.waitForURL(hash('#/o/acme-data/p/analytics/d/prod'));
    await page.waitForSelector('tr[data-schedule="daily load"]');
    expect(await text('main h1')).toBe('Analytics / prod');
    expect(await text('tr[data-schedule="broken"]')).toContain('has 6 fields');
    expect(await text('tr[data-schedule="daily load"]')).toMatch(/@daily.*disabled/s);

    const toggle = 'input[aria-label="Enable schedule daily load"]';
    expect(await page.isChecked(toggle)).toBe(false);
    await page.click(toggle);
    await showing('#flash', 'enabled');
    expect(await page.isChecked(toggle)).toBe(true);
    // Persisted: the API says so, and so does a fresh page.
    const fromApi = await page.evaluate(
      async (url) => (await fetch(url)).json() as Promise<{ enabled: boolean }>,
      '/orgs/acme-data/projects/analytics/deployments/prod/schedules/daily%20load',
    );
    expect(fromApi.enabled).toBe(true);
    await page.reload();
    await page.waitForSelector('tr[data-schedule="daily load"] time');
    expect(await page.isChecked(toggle)).toBe(true);
    await page.screenshot({ path: path.join(shots, 'deployment.png'), fullPage: true });
  });

  it('runs a schedule now, follows it and cancels it', async () => {
    await page.click('button[aria-label="Run schedule daily load now"]');
    await page.waitForURL(/#\/o\/acme-data\/runs\/[0-9a-f-]{36}$/);
    await page.waitForSelector('.run-status .badge');
    expect(await text('main h1')).toBe('Run: daily load');
    expect(await text('.run-status')).toContain('queued');
    await page.click('main button.danger');
    await showing('.run-status', 'cancelled');
    await showing('.log-state', /end of log|no log lines/);
  });

  it('shows a run’s timeline and its log', async () => {
    await page.goto(`${base}/#/o/acme-data/runs/${runId}`);
    await page.locator('.log .log-line').nth(2).waitFor();
    expect(await count('.log .log-line')).toBe(3);
    expect(await text('.log')).toMatch(/Extracting tap-x.*warning: slow source.*Loaded 42 rows/s);
    expect(await text('.log-state')).toContain('end of log');
    const timeline = await text('section[aria-labelledby=h-timeline]');
    for (const step of ['Queued', 'Admitted', 'Started', 'Pipeline started', 'Finished'])
      expect(timeline).toContain(step);
    expect(await text('.facts')).toContain('1m 15s');
    await page.screenshot({ path: path.join(shots, 'run.png'), fullPage: true });
  });

  it('filters the run history', async () => {
    await page.goto(`${base}/#/o/acme-data/runs`);
    await page.waitForSelector('section[aria-labelledby=h-history] tbody');
    expect(await count('tbody tr')).toBe(2);
    await page.selectOption('#filter-status', 'cancelled');
    await page.click('form[aria-label="Filter runs"] button[type=submit]');
    await page.waitForURL(hash('#/o/acme-data/runs?status=cancelled'));
    // (waitForFunction with a string would need 'unsafe-eval', which the CSP refuses.)
    await page.locator('tbody tr', { hasText: 'succeeded' }).waitFor({ state: 'detached' });
    await showing('tbody tr', 'cancelled');
    expect(await count('tbody tr')).toBe(1);
    expect(await text('tbody')).toMatch(/cancelled.*daily load.*Analytics \/ prod/s);
    await page.screenshot({ path: path.join(shots, 'runs.png'), fullPage: true });
  });

  it('sets a secret without ever showing its value; invites a member; shows the audit log', async () => {
    await page.goto(`${base}/#/o/acme-data/p/analytics`);
    const form = 'form[aria-label="Set a secret (Project secrets)"]';
    await page.fill(`${form} input[name=name]`, 'TAP_X_PASSWORD');
    await page.fill(`${form} input[name=value]`, 'hunter2-value');
    await page.click(`${form} button[type=submit]`);
    await showing('section[aria-labelledby=h-project-secrets] table', 'TAP_X_PASSWORD');
    expect(await page.locator('body').innerText()).not.toContain('hunter2');
    expect(await page.locator(`${form} input[name=value]`).inputValue()).toBe('');
    await page.screenshot({ path: path.join(shots, 'project.png'), fullPage: true });

    await page.goto(`${base}/#/o/acme-data/members`);
    await page.fill('form[aria-label="Invite a member"] input[name=login]', 'hubot');
    await page.selectOption('form[aria-label="Invite a member"] select[name=role]', 'viewer');
    await page.click('form[aria-label="Invite a member"] button[type=submit]');
    await showing('section[aria-labelledby=h-members-of-acme-data]', 'hubot');
    expect(await page.locator('select[aria-label="Role of dash-owner"]').inputValue()).toBe(
      'owner',
    );

    await page.screenshot({ path: path.join(shots, 'members.png'), fullPage: true });
    await page.click('a[href="#/o/acme-data/audit"]');
    await page.waitForSelector('section[aria-labelledby=h-events-newest-first] tbody');
    expect(await text('tbody')).toContain('secret');
    await page.screenshot({ path: path.join(shots, 'audit.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
