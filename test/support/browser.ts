import { existsSync } from 'node:fs';

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
