import { describe, expect, it } from 'vitest';
import { type BrowserLookup, browserPlan, findBrowser } from '#test/support/browser.ts';

function machine(files: string[], env: Record<string, string> = {}, dirs: Record<string, string[]> = {}) {
  return {
    env,
    exists: (path: string) => files.includes(path),
    list: (dir: string) => dirs[dir] ?? [],
    home: '/home/me',
  } satisfies BrowserLookup;
}

describe('finding a browser for the browser tests', () => {
  it("takes CHROMIUM_PATH when it exists, and never another browser when it doesn't", () => {
    expect(findBrowser(machine(['/opt/c', '/usr/bin/chromium'], { CHROMIUM_PATH: '/opt/c' }))).toBe('/opt/c');
    expect(findBrowser(machine(['/usr/bin/chromium'], { CHROMIUM_PATH: '/opt/typo' }))).toBeUndefined();
  });

  it("finds Debian's, then Ubuntu's Chromium, then Chrome", () => {
    expect(findBrowser(machine(['/usr/bin/chromium-browser', '/usr/bin/chromium']))).toBe(
      '/usr/bin/chromium',
    );
    expect(findBrowser(machine(['/usr/bin/google-chrome', '/usr/bin/chromium-browser']))).toBe(
      '/usr/bin/chromium-browser',
    );
    expect(findBrowser(machine(['/usr/bin/google-chrome']))).toBe('/usr/bin/google-chrome');
  });

  it("falls back to the newest Chromium in Playwright's cache", () => {
    const cache = '/home/me/.cache/ms-playwright';
    const lookup = machine(
      [`${cache}/chromium-1100/chrome-linux/chrome`, `${cache}/chromium-1200/chrome-linux64/chrome`],
      {},
      { [cache]: ['ffmpeg-1009', 'chromium-1100', 'chromium-1200'] },
    );
    expect(findBrowser(lookup)).toBe(`${cache}/chromium-1200/chrome-linux64/chrome`);
  });

  it('skips with how to enable it outside CI, and runs (to fail) under CI=true', () => {
    const skipped = browserPlan(machine([]));
    expect(skipped).toEqual({
      run: false,
      why: expect.stringMatching(/^browser tests skipped: no Chromium/),
    });
    expect(skipped.run === false && skipped.why).toContain('CHROMIUM_PATH');
    expect(browserPlan(machine([], { CI: 'true' }))).toEqual({ run: true, executablePath: undefined });
    expect(browserPlan(machine(['/usr/bin/chromium']))).toEqual({
      run: true,
      executablePath: '/usr/bin/chromium',
    });
  });
});
