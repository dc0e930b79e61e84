import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** How to get a browser for the browser tests; said when none is found. */
export const BROWSER_HELP =
  'install Chromium (Debian: `apt-get install chromium`; Ubuntu: `apt-get install chromium-browser`; ' +
  'macOS: Google Chrome) or set CHROMIUM_PATH to a Chromium or Chrome executable';

export interface BrowserLookup {
  env: Record<string, string | undefined>;
  exists: (path: string) => boolean;
  /** Entries of a directory, or [] when it does not exist. */
  list: (dir: string) => string[];
  home: string;
}

const machine: BrowserLookup = {
  env: process.env,
  exists: existsSync,
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  home: homedir(),
};

/**
 * Finds a Chromium-family browser already on the machine (no test tool downloads one): the
 * `CHROMIUM_PATH` variable, Debian's or Ubuntu's Chromium, Google Chrome, then a browser an earlier
 * `npx playwright install` put in Playwright's cache. `CHROMIUM_PATH` set to a missing file is an
 * answer too: `undefined`, so a typo is never silently replaced by another browser.
 */
export function findBrowser(lookup: BrowserLookup = machine): string | undefined {
  const chosen = lookup.env.CHROMIUM_PATH;
  if (chosen) return lookup.exists(chosen) ? chosen : undefined;
  const fixed = [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ];
  const found = fixed.find((path) => lookup.exists(path));
  if (found) return found;
  const cache = lookup.env.PLAYWRIGHT_BROWSERS_PATH || join(lookup.home, '.cache', 'ms-playwright');
  for (const entry of lookup
    .list(cache)
    .filter((name) => name.startsWith('chromium-'))
    .sort()
    .reverse()) {
    for (const inner of ['chrome-linux64/chrome', 'chrome-linux/chrome']) {
      const path = join(cache, entry, inner);
      if (lookup.exists(path)) return path;
    }
  }
  return undefined;
}

/**
 * Whether to run the browser tests, and what to say: with a browser, run; without one, skip with
 * one line saying how to enable them, except under `CI=true`, where they run and fail.
 */
export function browserPlan(
  lookup: BrowserLookup = machine,
): { run: true; executablePath: string | undefined } | { run: false; why: string } {
  const executablePath = findBrowser(lookup);
  if (executablePath || lookup.env.CI === 'true') return { run: true, executablePath };
  const why = lookup.env.CHROMIUM_PATH
    ? `CHROMIUM_PATH=${lookup.env.CHROMIUM_PATH} does not exist`
    : 'no Chromium or Chrome found';
  return { run: false, why: `browser tests skipped: ${why}; to run them, ${BROWSER_HELP}` };
}

/**
 * Launches the machine's Chromium headless, as it needs here: no sandbox (CI runs as root) and no
 * background calls to the network.
 */
export function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
