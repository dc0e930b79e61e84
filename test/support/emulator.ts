import { afterAll, beforeAll, beforeEach } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { SalescalingClient, type SalescalingClientOptions } from '#shared/salescaling/client.ts';
import { createRequestLimiter } from '#shared/salescaling/limiter.ts';

export const TEST_API_KEY = 'test-key-0123456789';

/**
 * Starts one emulator (a real HTTP server on loopback) for a test file and resets it before each
 * test. Clients made by `client()` are fast by default (short backoff, a generous limiter) and
 * take overrides.
 */
export function useEmulator(options: EmulatorOptions = {}) {
  const context = {} as {
    emulator: RunningEmulator;
    admin: EmulatorAdmin;
    client(overrides?: Partial<SalescalingClientOptions>): SalescalingClient;
  };
  beforeAll(async () => {
    context.emulator = await startEmulator({ apiKeys: [TEST_API_KEY], ...options });
    context.admin = new EmulatorAdmin(context.emulator.url);
    context.client = (overrides = {}) =>
      new SalescalingClient({
        baseUrl: context.emulator.apiBaseUrl,
        apiKey: async () => TEST_API_KEY,
        baseDelayMs: 5,
        maxDelayMs: 20,
        timeoutMs: 2_000,
        limiter: createRequestLimiter({ requestsPerSecond: 1000, concurrency: 8 }),
        ...overrides,
      });
  });
  beforeEach(async () => {
    await context.admin.reset();
    context.emulator.setApiKeys([TEST_API_KEY]);
  });
  afterAll(async () => {
    await context.emulator?.close();
  });
  return context;
}
