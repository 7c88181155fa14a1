import { readFile } from 'node:fs/promises';
import {
  CHROMIUM,
  playwright,
  browserMissing,
  screenshotPath,
  type Browser,
  type Page,
} from '../support/browser.js';
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
  /** A full-page screenshot in test/web/screenshots/ (see the README). */
  const shot = async (name: string) =>
    page.screenshot({ path: await screenshotPath(name), fullPage: true });

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
    page = await browser.newPage({
      viewport: { width: 1366, height: 900 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // API refusals the test provokes show up as failed loads; anything else is a bug.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
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
        installStartedAt: new Date(Date.now() - 86_000),
        installFinishedAt: new Date(Date.now() - 82_000),
        pluginInstall: 'cached',
        pipelineStartedAt: new Date(Date.now() - 80_000),
        finishedAt: new Date(Date.now() - 5_000),
      },
    });
    runId = finished.id;
    await t.prisma.runLogLine.createMany({
      // Meltano prints its own timestamp first: the page shows one per line.
      data: [
        '2026-12-01T10:00:00.123456Z [info     ] Extracting tap-x',
        'warning: slow source',
        'Loaded 42 rows',
      ].map((line, i) => ({
        organizationId: org.id,
        runId: finished.id,
        seq: i + 1,
        stream: i === 1 ? 'stderr' : 'stdout',
        timestamp: new Date(Date.now() - 60_000 + i * 1000),
        line,
      })),
    });

    // A failing hourly schedule: three successes, then it timed out once and failed twice.
    const hourly = await t.prisma.schedule.create({
      data: {
        organizationId: org.id,
        deploymentId: deployment.id,
        name: 'hourly sync',
        interval: '@hourly',
        cron: '0 * * * *',
        job: 'load',
        enabled: true,
      },
    });
    const oldestFirst = ['succeeded', 'succeeded', 'timed_out', 'succeeded', 'failed', 'failed'];
    for (const [i, status] of oldestFirst.entries()) {
      const queuedAt = new Date(Date.now() - (oldestFirst.length - i) * 3_600_000);
      await t.prisma.run.create({
        data: {
          organizationId: org.id,
          deploymentId: deployment.id,
          scheduleId: hourly.id,
          target: 'hourly sync',
          jobName: 'load',
          trigger: 'schedule',
          status: status as 'failed',
          statusReason: status === 'failed' ? 'tap-x exited with code 1' : null,
          timeoutSeconds: 3600,
          queuedAt,
          tickAt: queuedAt,
          pipelineStartedAt: new Date(queuedAt.getTime() + 2_000),
          finishedAt: new Date(queuedAt.getTime() + 62_000),
        },
      });
    }

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

    // Health at a glance: the failing schedule comes first, marked, with its latest runs as marks.
    const rows = page.locator('section[aria-labelledby=h-schedules] tbody tr');
    expect(await rows.first().getAttribute('data-schedule')).toBe('hourly sync');
    const failing = 'tr[data-schedule="hourly sync"]';
    expect(await page.locator(failing).getAttribute('class')).toContain('failing');
    expect(await text('.failing-summary')).toBe('1 schedule is failing: hourly sync');
    const marks = page.locator(`${failing} .mark`);
    expect(
      await marks.evaluateAll((els) => els.map((el) => el.getAttribute('data-status'))),
    ).toEqual(oldestFirst);
    // Hover: when, how long, how it ended (and why).
    const newest = await marks.last().getAttribute('title');
    expect(newest).toMatch(/\d{4}.* · 1m 00s · failed \(tap-x exited with code 1\)$/);
    expect(await marks.last().getAttribute('href')).toMatch(
      /^#\/o\/acme-data\/runs\/[0-9a-f-]{36}$/,
    );
    // 3 of the 6 finished runs succeeded.
    expect(await text(`${failing} .rate`)).toBe('50%');
    expect(await text(`${failing} td[data-label="Last run"]`)).toMatch(/failed.*ago/s);
    expect(await text(`${failing} td[data-label="Next run"]`)).toMatch(/\d{4}/);
    expect(await text('tr[data-schedule="daily load"] .rate')).toBe('100%');
    // Runs per day as the API computed and rounded it (the CLI's RUNS/DAY prints the same field).
    expect(await text(`${failing} .runs-per-day`)).toBe('24/day');
    expect(await text('tr[data-schedule="daily load"] .runs-per-day')).toBe('1/day');
    expect(await page.locator('tr[data-schedule="daily load"] .mark').count()).toBe(1);
    expect(await text('tr[data-schedule="broken"] td[data-label="Latest runs"]')).toBe(
      'no runs yet',
    );
    await marks.last().hover();
    await shot('deployment');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('deployment-phone');
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('runs a schedule now, follows it and cancels it', async () => {
    await page.click('button[aria-label="Run schedule daily load now"]');
    await page.waitForURL(/#\/o\/acme-data\/runs\/[0-9a-f-]{36}$/);
    await page.waitForSelector('.run-status .badge');
    expect(await text('main h1')).toBe('Run: daily load');
    expect(await text('.run-status')).toContain('queued');
    // Started from the dashboard (a browser session), by the person signed in.
    expect(await text('.started-by')).toBe('dashboard · dash-owner');
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
    for (const step of ['Waiting in the queue', 'Cloning the repository', 'Pipeline', 'Finished'])
      expect(timeline).toContain(step);
    // The install step is its own row, with what it cost and why it was skipped or not.
    expect(timeline).toMatch(/Installing plugins.*4s.*not billed · install skipped \(cached\)/s);
    expect(await text('section[aria-labelledby=h-timeline] tr:has([data-step=pipeline])')).toMatch(
      /1m 15s.*billed/s,
    );
    expect(await text('main .facts:not(.identity)')).toContain('1m 15s');
    expect(await text('main .facts:not(.identity)')).toMatch(/Started\s+schedule/i);

    // The id, copyable, and the CLI command that follows the run.
    expect(await text('.run-id')).toBe(runId);
    await page.click('button[aria-label="Copy the run id"]');
    await showing('button[aria-label="Copy the run id"]', 'Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(runId);
    expect(await text('.cli-command')).toBe(
      `meltano-cloud logs print --execution-id ${runId} --follow`,
    );
    await page.click('button[aria-label="Copy the CLI command"]');
    await showing('button[aria-label="Copy the CLI command"]', 'Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(
      `meltano-cloud logs print --execution-id ${runId} --follow`,
    );

    // One timestamp per line: Meltano's own is dropped, ours (with the date on hover) stays.
    expect(await page.locator('.log-line').first().locator('.log-text').innerText()).toBe(
      '[info     ] Extracting tap-x',
    );
    expect(await count('.log-line time')).toBe(3);

    // Search: only matching lines stay, the match is marked.
    await page.fill('#log-search', 'ROWS');
    await showing('.match-count', '1 of 3 lines match');
    expect(await count('.log-line:visible')).toBe(1);
    expect(await text('.log mark')).toBe('rows');
    await page.fill('#log-search', '');
    await showing('.match-count', '3 lines');
    expect(await count('.log-line:visible')).toBe(3);

    // A link to a line: the address names it, and opening that address shows it selected.
    await page.click('#L2 .log-num');
    expect(page.url()).toMatch(new RegExp(`#/o/acme-data/runs/${runId}#L2$`));
    expect(await page.locator('#L2').getAttribute('class')).toContain('selected');
    await page.goto(`${base}/#/o/acme-data/runs/${runId}#L3`);
    await page.locator('#L3.selected').waitFor();
    expect(await count('.log-line.selected')).toBe(1);
    await shot('run');

    // Download: the whole log, one timestamp per line.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("Download log")'),
    ]);
    expect(download.suggestedFilename()).toBe(`run-${runId}.log`);
    const saved = (await readFile(await download.path(), 'utf8')).trimEnd().split('\n');
    expect(saved).toHaveLength(3);
    expect(saved[0]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z \[info {5}\] Extracting tap-x$/);
    expect(saved[2]).toMatch(/Z Loaded 42 rows$/);
  });

  it('filters the run history by status and date, with absolute times and who started runs', async () => {
    const org = await t.prisma.organization.findFirstOrThrow({ where: { slug: 'acme-data' } });
    const deployment = await t.prisma.deployment.findFirstOrThrow({
      where: { organizationId: org.id },
    });
    const owner = await t.prisma.user.findFirstOrThrow({ where: { login: 'dash-owner' } });
    // Started from the CLI and from the raw API (both with a token) by dash-owner, and one from ten days ago.
    for (const [trigger, target] of [
      ['cli', 'load'],
      ['api', 'api-load'],
    ] as const) {
      await t.prisma.run.create({
        data: {
          organizationId: org.id,
          deploymentId: deployment.id,
          target,
          jobName: 'load',
          trigger,
          triggeredById: owner.id,
          status: 'succeeded',
          timeoutSeconds: 3600,
          queuedAt: new Date(Date.now() - 30_000),
          finishedAt: new Date(),
        },
      });
    }
    const oldAt = new Date(Date.now() - 10 * 86_400_000);
    oldAt.setUTCHours(12, 0, 0, 0);
    const old = await t.prisma.run.create({
      data: {
        organizationId: org.id,
        deploymentId: deployment.id,
        target: 'backfill',
        jobName: 'load',
        trigger: 'manual',
        triggeredById: owner.id,
        status: 'succeeded',
        timeoutSeconds: 3600,
        queuedAt: oldAt,
        finishedAt: new Date(oldAt.getTime() + 60_000),
      },
    });

    await page.goto(`${base}/#/o/acme-data/runs`);
    await page.waitForSelector('section[aria-labelledby=h-history] tbody');
    // 1 finished + 1 cancelled + 6 hourly + the CLI and API ones + the old one.
    expect(await count('tbody tr')).toBe(11);
    const cli = page.locator('tbody tr', { hasText: 'CLI ·' });
    expect(await cli.locator('td[data-label=Started]').innerText()).toBe('CLI · dash-owner');
    const raw = page.locator('tbody tr', { hasText: 'api-load' });
    expect(await raw.locator('td[data-label=Started]').innerText()).toBe('API · dash-owner');
    // Absolute time in the cell, relative on hover.
    const queued = cli.locator('td[data-label=Queued] time');
    expect(await queued.innerText()).toMatch(/\d{4}/);
    expect(await queued.getAttribute('title')).toMatch(/ago|just now/);
    await page.selectOption('#filter-status', 'cancelled');
    await page.click('form[aria-label="Filter runs"] button[type=submit]');
    await page.waitForURL(hash('#/o/acme-data/runs?status=cancelled'));
    // (waitForFunction with a string would need 'unsafe-eval', which the CSP refuses.)
    await page.locator('tbody tr', { hasText: 'succeeded' }).waitFor({ state: 'detached' });
    await showing('tbody tr', 'cancelled');
    expect(await count('tbody tr')).toBe(1);
    expect(await text('tbody')).toMatch(/cancelled.*daily load.*Analytics \/ prod/s);

    // A date range (days in the browser's time zone) goes to the API as since/until.
    const day = String(
      await page.evaluate(`new Date(${oldAt.getTime()}).toLocaleDateString('en-CA')`),
    );
    await page.goto(`${base}/#/o/acme-data/runs`);
    await page.waitForSelector('#filter-from');
    await page.fill('#filter-from', day);
    await page.fill('#filter-to', day);
    await page.click('form[aria-label="Filter runs"] button[type=submit]');
    await page.waitForURL(hash(`#/o/acme-data/runs?from=${day}&to=${day}`));
    await showing('tbody tr', 'backfill');
    expect(await count('tbody tr')).toBe(1);
    expect(await text('tbody tr')).toContain('backfill');
    expect(await page.locator('tbody tr a').first().getAttribute('href')).toBe(
      `#/o/acme-data/runs/${old.id}`,
    );
    expect(await page.inputValue('#filter-from')).toBe(day);

    await page.goto(`${base}/#/o/acme-data/runs`);
    await page.waitForSelector('section[aria-labelledby=h-history] tbody');
    await shot('runs');
    // At phone width: no sideways scrolling, each run a card labelled field by field.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.locator('section[aria-labelledby=h-history] thead').isVisible()).toBe(false);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(
      390,
    );
    const card = await page.locator('tbody tr').first().boundingBox();
    expect(card!.width).toBeLessThanOrEqual(390);
    await shot('runs-phone');
    await page.setViewportSize({ width: 1366, height: 900 });
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
    await shot('project');

    await page.goto(`${base}/#/o/acme-data/members`);
    await page.fill('form[aria-label="Invite a member"] input[name=login]', 'hubot');
    await page.selectOption('form[aria-label="Invite a member"] select[name=role]', 'viewer');
    await page.click('form[aria-label="Invite a member"] button[type=submit]');
    await showing('section[aria-labelledby=h-members-of-acme-data]', 'hubot');
    expect(await page.locator('select[aria-label="Role of dash-owner"]').inputValue()).toBe(
      'owner',
    );

    await shot('members');
    await page.click('a[href="#/o/acme-data/audit"]');
    await page.waitForSelector('section[aria-labelledby=h-events-newest-first] tbody');
    // Names, not id fragments: the secret, the schedule, the run, and who did it.
    const secretRow = page.locator('tbody tr', { hasText: 'secret.set' });
    expect(await secretRow.locator('.resource').innerText()).toBe('secret TAP_X_PASSWORD');
    expect(await secretRow.locator('.actor').innerText()).toBe('dash-owner');
    const enable = page.locator('tbody tr', { hasText: 'schedule.enable' });
    expect(await enable.locator('.resource').innerText()).toBe('schedule prod / daily load');
    const cancel = page.locator('tbody tr', { hasText: 'run.cancel' });
    expect(await cancel.locator('.resource a').innerText()).toBe('prod / daily load');
    expect(await text('tbody')).not.toMatch(/\b[0-9a-f]{8}\b(?!-)/);
    await shot('audit');
    expect(problems).toEqual([]);
  });
});
