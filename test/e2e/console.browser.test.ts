import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { generateSecrets, secretNeedles } from '#local/tools/fuzz/payloads.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { BROWSER_HELP, browserPlan, launchBrowser } from '#test/support/browser.ts';

/**
 * A person uses the console in a real browser (the machine's Chromium, driven by playwright-core):
 * sends a test lead from the Actions view, sees it in the live stream, opens its journey and finds
 * the opportunity with its contact and company links. The journey view's screenshot goes to
 * .reports/console-journey.png, or, with UPDATE_SCREENSHOTS=1, to docs/images/ for the README.
 */
const plan = browserPlan();
if (!plan.run) console.warn(plan.why);
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? 'docs/images/console-journey.png'
  : '.reports/console-journey.png';

/** The whole suite runs beside this on 2 cores: a cold start can take seconds. */
const POLL = { timeout: 30_000 };
const secrets = generateSecrets();
let emulator: RunningEmulator;
let runtime: LocalRuntime;
let browser: Browser;

beforeAll(async () => {
  if (!plan.run || !plan.executablePath) return;
  emulator = await startEmulator({ apiKeys: [secrets.salescalingApiKey], seed: { opportunities: 10 } });
  runtime = await startQuietRuntime({
    emulatorUrl: emulator.url,
    secrets: {
      salescalingApiKey: secrets.salescalingApiKey,
      webhookSigningSecrets: Object.fromEntries(Object.entries(secrets.signing).map(([k, v]) => [k, [v]])),
    },
    platform: { salescalingBaseUrl: emulator.apiBaseUrl, salescalingMaxRps: 50 },
  });
  browser = await launchBrowser(plan.executablePath);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
  await emulator?.close();
});

describe.runIf(plan.run)('the console in a real browser', () => {
  it('sends a lead, shows it in the stream, and its journey ends in the opportunity with both links', async () => {
    if (!plan.run || !plan.executablePath)
      throw new Error(`No browser for the browser tests: ${BROWSER_HELP}`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // No request leaves loopback: the page has no build step, no CDN, nothing remote.
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(runtime.url)) foreign.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(runtime.console.url);
    await expect.poll(() => page.locator('#connection').textContent(), POLL).toBe('live');

    await page.getByRole('button', { name: 'Actions' }).click();
    await page.locator('#lead-provider').selectOption('typeform');
    await page.locator('#lead-email').fill('grace.hopper@cobol.example.org');
    await page.locator('#lead-first').fill('Grace');
    await page.locator('#lead-last').fill('Hopper');
    await page.locator('#lead-company').fill('Cobol Industries');
    await page.locator('#lead-budget').fill('48000');
    await page.getByRole('button', { name: 'Send lead' }).click();
    const result = page.locator('#lead-result');
    await expect.poll(() => result.textContent(), POLL).toMatch(/Answered 202; submission console-/);
    const submissionId =
      /submission (console-[0-9a-f-]+)/.exec((await result.textContent()) ?? '')?.[1] ?? '';
    expect(submissionId).not.toBe('');

    // The stream, newest first, shows the request and the Lead Received event of this lead.
    await page.getByRole('button', { name: 'Stream' }).click();
    await page.locator('#filter-id').fill(submissionId);
    const stream = page.getByTestId('stream');
    await expect.poll(() => stream.locator('tr[data-kind="http"]').count(), POLL).toBeGreaterThan(0);
    await expect
      .poll(() => stream.locator('tr[data-kind="bus"]').first().textContent(), POLL)
      .toContain('Lead Received');

    // Its journey: the request and answer, the event, the delivery, the calls, the opportunity and links.
    await stream.locator('tr[data-kind="http"] button[data-key]').first().click();
    const journey = page.getByTestId('journey');
    const opportunity = journey.getByTestId('opportunity');
    await expect
      .poll(() => opportunity.getByTestId('companies').textContent(), POLL)
      .toContain('Cobol Industries');
    await expect
      .poll(() => opportunity.getByTestId('contacts').textContent(), POLL)
      .toContain('grace.hopper@cobol.example.org');
    await expect
      .poll(() => journey.locator('li[data-kind="delivery"]').first().textContent(), POLL)
      .toMatch(/attempt 1, ok/);
    const timeline = (await journey.getByTestId('timeline').textContent()) ?? '';
    expect(timeline).toContain('answered {"id":"console-');
    expect(timeline).toContain('Lead Received');
    expect(timeline).toContain('createOpportunity');
    expect(timeline).toContain('Opportunity Created');
    expect(await opportunity.locator('h3').textContent()).toContain('Opportunity:');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The system picture, drawn from the declaration, counts this lead on its arrows.
    await page.getByRole('button', { name: 'System' }).click();
    await expect
      .poll(
        () =>
          page
            .locator('#system text[data-edge="route:POST /leads/{provider}->fn:lead-ingest"]')
            .textContent(),
        POLL,
      )
      .toBe('1');
    await expect.poll(() => page.locator('#system [data-node="fn:lead-sync"]').count(), POLL).toBe(1);

    const html = await page.content();
    for (const needle of secretNeedles(secrets)) expect(html.includes(needle)).toBe(false);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
