import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Headless Chromium for the browser suites: playwright-core (a devDependency)
 * driving Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH). Suites
 * fail, naming what is missing, when either is absent: they never skip.
 */
export type Playwright = typeof import('playwright-core');
export type Browser = import('playwright-core').Browser;
export type Page = import('playwright-core').Page;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const moduleName = 'playwright-core';
export const playwright = (await import(moduleName).catch(() => null)) as Playwright | null;

/** Why no browser can be driven here, or null when one can. */
export const browserMissing: string | null = !playwright
  ? 'playwright-core is not installed: add it as a devDependency (npm i -D playwright-core)'
  : !existsSync(CHROMIUM)
    ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
    : null;

/**
 * Where the browser suites save a screenshot of every page they visit
 * (test/web/screenshots/, git-ignored): look at them after a change to web/.
 */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../web/screenshots');

/** The path of screenshot `name`.png, creating the folder on first use. */
export async function screenshotPath(name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, `${name}.png`);
}
