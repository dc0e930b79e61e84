import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { BROWSER_HELP, browserPlan, launchBrowser } from '#test/support/browser.ts';

/**
 * A person fills in the demo lead form in a real browser (Debian's Chromium, driven by
 * playwright-core; nothing downloads a browser), lands on the thank-you page, and the lead is on
 * the bus as `Lead Received`.
 */
const plan = browserPlan();
// Outside CI, a machine without a browser skips this file with one line saying how to run it.
if (!plan.run) console.warn(plan.why);

let runtime: LocalRuntime;
let browser: Browser;

beforeAll(async () => {
  if (!plan.run || !plan.executablePath) return;
  runtime = await startQuietRuntime();
  browser = await launchBrowser(plan.executablePath);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
});

describe.runIf(plan.run)('the demo form in a real browser', () => {
  it('submits the demo form, lands on the thank-you page, and the lead is on the bus', async () => {
    // Under CI=true a missing browser fails here, with the advice.
    if (!plan.run || !plan.executablePath)
      throw new Error(`No browser for the browser tests: ${BROWSER_HELP}`);
    const page = await browser.newPage();
    await page.goto(`${runtime.url}/demo/form`);
    await page.getByLabel('First name').fill('Hedy');
    await page.getByLabel('Last name').fill('Lamarr');
    await page.getByLabel('Work email').fill('hedy@frequency.example.com');
    await page.getByLabel('Company').fill('Frequency Hopping Inc');
    await page.getByLabel('Job title').fill('Inventor');
    await page.getByLabel('Estimated budget').fill('30,000');
    await page.getByLabel('How can we help?').fill('Secure comms for our field team.');
    mkdirSync('.reports', { recursive: true });
    await page.screenshot({ path: '.reports/demo-form.png', fullPage: true });
    await Promise.all([
      page.waitForURL(/\/demo\/thanks$/),
      page.getByRole('button', { name: 'Send' }).click(),
    ]);
    await expect(page.getByRole('heading', { name: 'Thank you!' }).isVisible()).resolves.toBe(true);

    const received = runtime.bus.events.list().filter((e) => e['detail-type'] === 'Lead Received');
    expect(received).toHaveLength(1);
    expect(received[0]?.detail).toMatchObject({
      source: { provider: 'form' },
      contact: {
        email: 'hedy@frequency.example.com',
        firstName: 'Hedy',
        lastName: 'Lamarr',
        jobTitle: 'Inventor',
      },
      company: { name: 'Frequency Hopping Inc', domain: 'frequency.example.com' },
      opportunity: { amount: 30_000, description: 'Secure comms for our field team.' },
    });
    expect(received[0]?.detail).not.toHaveProperty('fields.contact_me_by_fax_only');
    await page.close();
  });
});
