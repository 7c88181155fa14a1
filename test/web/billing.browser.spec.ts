import { existsSync } from 'node:fs';
import {
  CHROMIUM,
  playwright,
  screenshotPath,
  type Browser,
  type Page,
} from '../support/browser.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { startFakeStripe, type FakeStripe, stripeTestEnv } from '../support/fake-stripe.js';
import { createUsageOrg, seedUsage, type UsageOrg } from '../support/billing-fixtures.js';

/**
 * The dashboard's Billing page in headless Chromium, against the real API with
 * Stripe pointed at a local stand-in. Needs `playwright-core` and a Chromium
 * (see dashboard.browser.spec.ts); never skips itself.
 */

describe('dashboard Billing page in Chromium', () => {
  it('has a browser to drive', () => {
    expect(playwright).not.toBeNull();
    expect(existsSync(CHROMIUM)).toBe(true);
  });

  let stripe: FakeStripe;
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let org: UsageOrg;
  let longRunId = '';
  const problems: string[] = [];
  const slug = 'acme-billing';

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await createTestApp(stripeTestEnv(stripe, 'whsec_test_' + 'b'.repeat(32)));
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
    await stripe?.close();
  });

  /** A signed-in page (the test server's sign-in form takes a login), watched for errors. */
  async function signedIn(login: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
    // Stripe's hosted pages, stood in for: the test only checks where the browser went.
    for (const host of ['https://checkout.stripe.com/**', 'https://billing.stripe.com/**'])
      await page.route(host, (route) =>
        route.fulfill({ contentType: 'text/html', body: '<h1>Stripe (test)</h1>' }),
      );
    await page.goto(`${base}/login?return_to=%2F`);
    await page.fill('input[name=login]', login);
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/orgs$/);
    problems.length = 0;
    return page;
  }

  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

  let owner: Page;
  it('is reachable from the organization view and shows plan, figures and the chart', async () => {
    owner = await signedIn('bill-owner');
    const user = await t.prisma.user.findFirstOrThrow({ where: { login: 'bill-owner' } });
    org = await createUsageOrg(t.prisma, user.id, slug);
    const runs = await seedUsage(t, org);
    longRunId = runs[1]!.run.id;

    await owner.goto(`${base}/#/o/${slug}`);
    await owner.click(`#nav a[href="#/o/${slug}/billing"]`);
    await owner.waitForSelector('[data-figure=credits-used]');
    expect(await text(owner, 'main h1')).toBe('Billing');
    expect(await text(owner, '#nav a[aria-current=page]')).toBe('Billing');
    expect(await text(owner, '[data-figure=credits-used]')).toBe('4.5');
    expect(await text(owner, '[data-figure=credits-left]')).toBe('95.5');
    expect(await text(owner, '[data-figure=spend-cap]')).toBe('none');
    const plan = await text(owner, 'section[aria-labelledby=h-plan]');
    expect(plan).toContain('Free');
    expect(plan).toContain('100.0 credits a month included');
    expect(plan).toContain('Runs and schedules may start.');
    expect(plan).toMatch(/MC-\d{10}/);

    const bars = owner.locator('ul.bar-chart li.bar-row');
    expect(await bars.count()).toBe(2);
    expect(await bars.nth(0).innerText()).toMatch(/Analytics\s+3\.5 credits · 2 runs/);
    expect(await bars.nth(1).innerText()).toMatch(/Marketing\s+1\.0 credits · 2 runs/);
    // Bar lengths are shares of the largest (3.5 → 100 %, 1.0 → 29 %).
    const widths = await owner
      .locator('ul.bar-chart .bar-fill')
      .evaluateAll((els) =>
        els.map((el) =>
          Math.round(
            (el.getBoundingClientRect().width / el.parentElement!.getBoundingClientRect().width) *
              100,
          ),
        ),
      );
    expect(widths).toEqual([100, 29]);

    const top = await text(owner, 'section[aria-labelledby=h-top-schedules-by-credits] tbody');
    expect(top.split('\n')[0]).toMatch(/prod \/ load\s+2\.5\s+1/);
    expect(top).toMatch(/prod \/ hourly sync\s+1\.0\s+2/);
    expect(top).toMatch(/prod \/ daily load\s+1\.0\s+1/);
    expect(await text(owner, '.payment-status')).toContain('No payment method');
    expect(problems).toEqual([]);
  });

  it('lets the owner set the spend cap, showing a bad value next to the field', async () => {
    const form = 'form[aria-label="Set the spend cap"]';
    await owner.fill(`${form} input[name=spend_cap]`, '12,5');
    await owner.click(`${form} button[type=submit]`);
    await owner.waitForSelector(`${form} input[name=spend_cap][aria-invalid=true]`);
    expect(await text(owner, `${form} .field-error`)).toContain('dollars');

    await owner.fill(`${form} input[name=spend_cap]`, '12.50');
    await owner.click(`${form} button[type=submit]`);
    await owner.locator('#flash', { hasText: 'Spend cap set to $12.50.' }).waitFor();
    await owner.locator('[data-figure=spend-cap]', { hasText: '$12.50' }).waitFor();
    const state = await t.prisma.organizationBilling.findUniqueOrThrow({
      where: { organizationId: org.orgId },
    });
    expect(state.spendCapCents).toBe(1250);
    await owner.screenshot({ path: await screenshotPath('billing'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('Checkout and the Portal send the owner to the URL the API returns', async () => {
    await owner.click('button:has-text("Add a payment method")');
    await owner.waitForURL(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_/);
    const [checkout] = stripe.requestsTo('/v1/checkout/sessions');
    expect(checkout?.body).toMatchObject({
      mode: 'subscription',
      success_url: expect.stringMatching(/\/#\/o\/acme-billing\/billing$/),
    });

    await owner.goto(`${base}/#/o/${slug}/billing`);
    await owner.click('button:has-text("Open the Customer Portal")');
    await owner.waitForURL(/^https:\/\/billing\.stripe\.com\/p\/session\//);
    expect(stripe.requestsTo('/v1/billing_portal/sessions')).toHaveLength(1);
    expect(problems).toEqual([]);
  });

  it('shows the credits a run cost on its page', async () => {
    await owner.goto(`${base}/#/o/${slug}/runs/${longRunId}`);
    await owner.locator('[data-figure=credits]', { hasText: '2.5' }).waitFor();
    expect(await text(owner, 'main .facts:not(.identity)')).toMatch(/Credits\s+2\.5/i);
    await owner.screenshot({ path: await screenshotPath('run-credits'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('a viewer sees the figures, but no cap editor and no payment buttons', async () => {
    const viewer = await signedIn('bill-viewer');
    const user = await t.prisma.user.findFirstOrThrow({ where: { login: 'bill-viewer' } });
    await t.prisma.membership.create({
      data: { organizationId: org.orgId, userId: user.id, role: 'viewer' },
    });
    await viewer.goto(`${base}/#/o/${slug}/billing`);
    await viewer.waitForSelector('[data-figure=credits-used]');
    expect(await text(viewer, '[data-figure=credits-used]')).toBe('4.5');
    expect(await viewer.locator('form[aria-label="Set the spend cap"]').count()).toBe(0);
    expect(await viewer.locator('section[aria-labelledby=h-payment] button').count()).toBe(0);
    expect(await text(viewer, 'section[aria-labelledby=h-payment]')).toContain('Only owners');
    await viewer.close();
    expect(problems).toEqual([]);
  });
});
