import { describe, expect, it } from 'vitest';
import { localConfigFromEnv } from '#local/runtime/config.ts';

describe('the local outage window (npm start)', () => {
  it('is 2 minutes unless OUTAGE_WINDOW_SECONDS says otherwise', () => {
    expect(localConfigFromEnv({}).OUTAGE_WINDOW_SECONDS).toBe(120);
    expect(localConfigFromEnv({ OUTAGE_WINDOW_SECONDS: '600' }).OUTAGE_WINDOW_SECONDS).toBe(600);
  });

  it('refuses a window that is not a whole number of seconds from 1 to a day, naming the variable', () => {
    for (const value of ['0', '1.5', '86401', 'soon']) {
      expect(() => localConfigFromEnv({ OUTAGE_WINDOW_SECONDS: value })).toThrow(/OUTAGE_WINDOW_SECONDS/);
    }
  });
});
