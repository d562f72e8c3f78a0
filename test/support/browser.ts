import { chromium, type Page } from 'playwright-core';
import { TEST_TOKEN } from './fineprint.js';

/**
 * Runs `use` on fineprint's page at `hash` (e.g. `#/incidents/<id>`) in the test Chromium, signed
 * in with the admin token, and closes the browser after it.
 */
export async function onSignedInPage(url: string, hash: string, use: (page: Page) => Promise<void>): Promise<void> {
  const executablePath = process.env.FINEPRINT_TEST_CHROMIUM;
  if (!executablePath) throw new Error('FINEPRINT_TEST_CHROMIUM is not set: run `bash scripts/services/chromium.sh start` and eval its `env`');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/${hash}`);
    await page.getByLabel('API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await use(page);
  } finally {
    await browser.close();
  }
}
