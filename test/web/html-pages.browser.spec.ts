import { existsSync } from 'node:fs';
import { CHROMIUM, playwright, type Browser } from '../support/browser.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Issue 14: the server-rendered HTML pages (sign-in, CLI approval, OpenAPI UI)
 * under the dashboard's CSP, in headless Chromium: they still work (no CSP
 * violation, Swagger UI renders) and no other page can frame them. Needs
 * playwright-core and Chromium, as the dashboard suite does (never skipped).
 */

describe('HTML pages under the CSP, in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    expect(playwright).not.toBeNull();
    expect(existsSync(CHROMIUM)).toBe(true);
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

  async function open(url: string) {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
    });
    await page.goto(url);
    return { page, violations };
  }

  it('renders the sign-in page with its own styles and no CSP violation', async () => {
    const { page, violations } = await open(`${base}/login`);
    await page.locator('h1', { hasText: 'Sign in' }).waitFor();
    // Expressions as strings: the test's TypeScript has no DOM types.
    const font = String(await page.evaluate('getComputedStyle(document.body).fontFamily'));
    expect(font).toContain('system-ui');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('renders the OpenAPI UI', async () => {
    const { page, violations } = await open(`${base}/api/docs`);
    await page.locator('.swagger-ui .info .title', { hasText: 'meltano-cloud API' }).waitFor();
    // Swagger UI's scripts set a few inline styles (and data: icons) the policy blocks, cosmetic
    // only; nothing else (scripts, connections, frames) is refused.
    expect(violations.filter((v) => !/inline style|img-src|data:/i.test(v))).toEqual([]);
    await page.close();
  }, 30_000);

  it('cannot be framed by another page (another port of the same host included)', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (msg) => {
      if (/frame-ancestors|X-Frame-Options|Refused to (display|frame)/i.test(msg.text()))
        refused.push(msg.text());
    });
    await page.goto(`${base}/healthz`);
    const src = JSON.stringify(`${base.replace('127.0.0.1', 'localhost')}/login`);
    await page.evaluate(
      `(() => { const f = document.createElement('iframe'); f.src = ${src}; document.body.appendChild(f); })()`,
    );
    await page.waitForTimeout(500);
    const framed = page.frames().find((f) => f.url().includes('/login'));
    const title = framed ? await framed.evaluate('document.title').catch(() => '') : '';
    expect(title).not.toContain('Sign in');
    expect(refused.join('\n')).toMatch(/frame-ancestors|X-Frame-Options/);
    await page.close();
  });
});
